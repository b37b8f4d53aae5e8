import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/audit/metrics.ts';
import { startAdminServer, type ReadinessCheck, secretsReadiness } from '../../../src/admin/index.ts';
import type { SecretSource } from '../../../src/secrets/types.ts';
import { FAMILIES } from '../../unit/admin/families.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function start(readiness: readonly ReadinessCheck[] = [], checkTimeoutMs?: number) {
  const metrics = createMetrics();
  const server = await startAdminServer({ listen: '127.0.0.1:0', metrics, readiness, ...(checkTimeoutMs ? { checkTimeoutMs } : {}) });
  closers.push(() => server.close());
  return { metrics, url: `http://${server.address}`, address: server.address };
}

function toggle(name: string) {
  const state = { ok: true, detail: undefined as string | undefined };
  const check: ReadinessCheck = { name, check: async () => (state.detail ? { ok: state.ok, detail: state.detail } : { ok: state.ok }) };
  return { state, check };
}

function fakeSource(kind: string, up: { value: boolean }, secret: string): SecretSource {
  return {
    kind,
    get: async () => secret,
    healthy: async () => up.value,
    close: async () => {},
  };
}

describe('admin server', () => {
  it('resolves port 0 to the bound address', async () => {
    const { address } = await start();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address.endsWith(':0')).toBe(false);
  });

  it('GET /healthz answers 200 {"status":"ok"}', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz flips to 503 while a check fails and back to 200 when it recovers', async () => {
    const policy = toggle('policy');
    const ca = toggle('ca');
    const { url } = await start([policy.check, ca.check]);
    let res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: [{ name: 'policy', ok: true }, { name: 'ca', ok: true }] });

    policy.state.ok = false;
    policy.state.detail = 'policies/main.yaml:3:5: unknown key "hots"';
    res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      checks: [{ name: 'policy', ok: false, detail: 'policies/main.yaml:3:5: unknown key "hots"' }, { name: 'ca', ok: true }],
    });

    policy.state.ok = true;
    policy.state.detail = undefined;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('a secrets backend going down makes /readyz 503 and never shows a secret value', async () => {
    const up = { value: true };
    const { url } = await start(secretsReadiness([fakeSource('file', { value: true }, 'ghp_TOPSECRET1'), fakeSource('vault', up, 'hvs.TOPSECRET2')]));
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    up.value = false;
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text).checks).toEqual([
      { name: 'secrets:file', ok: true },
      { name: 'secrets:vault', ok: false, detail: 'the vault secrets backend is not reachable' },
    ]);
    expect(text).not.toContain('TOPSECRET');
  });

  it('a check that throws or hangs fails readiness without echoing the error or hanging the probe', async () => {
    const throwing: ReadinessCheck = {
      name: 'vault',
      check: async () => {
        throw new Error('GET https://vault.internal/v1/secret?token=hvs.LEAKED failed');
      },
    };
    const hanging: ReadinessCheck = { name: 'slow', check: () => new Promise(() => {}) };
    const { url } = await start([throwing, hanging], 200);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain('LEAKED');
    const body = JSON.parse(text) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['vault', false],
      ['slow', false],
    ]);
  });

  it('GET /metrics serves Prometheus text with every family after traffic', async () => {
    const { url, metrics } = await start();
    metrics.recordExchange({
      decision: 'block', agent: 'default', method: 'POST', host: 'api.example', port: 443, path: '/v1', status: 403,
      bytesIn: 5, bytesOut: 0, durationMs: 3, credential: null, reason: 'guard', rule: 'api.example',
      findings: [{ rule: 'secret.aws-key', kind: 'aws_access_key', location: 'body', action: 'block' }],
    }, { decisionMs: 0.1, guardMs: 0.4 });
    metrics.policyReload('ok');
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const family of FAMILIES) expect(text).toContain(`# TYPE ${family} `);
    expect(text).toContain('sluice_requests_total{decision="block",host="api.example",status="403"} 1');
    expect(text).toContain('sluice_guard_findings_total{rule="secret.aws-key",action="block"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers other paths with 404 JSON and other methods with 405', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/debug/pprof`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
    const post = await fetch(`${url}/healthz`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('two admin servers run side by side with separate metrics', async () => {
    const a = await start();
    const b = await start();
    a.metrics.rateLimited('agent_requests');
    expect(await (await fetch(`${a.url}/metrics`)).text()).toContain('sluice_rate_limited_total{kind="agent_requests"} 1');
    expect(await (await fetch(`${b.url}/metrics`)).text()).not.toContain('sluice_rate_limited_total{kind="agent_requests"}');
  });

  it('refuses an address that is in use', async () => {
    const { address } = await start();
    await expect(startAdminServer({ listen: address, metrics: createMetrics({ defaultMetrics: false }), readiness: [] })).rejects.toThrow(/EADDRINUSE/);
  });
});
