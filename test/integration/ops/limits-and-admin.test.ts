// Operations against the running proxy: 429 with Retry-After, admin endpoints and metrics after real traffic,
// readiness flipping on a broken policy edit and back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { viaProxy } from '../../helpers/clients.ts';

describe('limits and admin', () => {
  let up: TestUpstream;
  let s: TestSluice;
  const admin = async (p: string) => {
    const res = await request(`http://${s.sluice.admin}${p}`);
    return { status: res.statusCode, text: await res.body.text(), type: String(res.headers['content-type']) };
  };

  beforeAll(async () => {
    up = await startUpstream();
    s = await startTestSluice({
      names: ['a.test', 'b.test'],
      config: { admin: '127.0.0.1:0', limits: { requestsPerMinutePerHost: 5, alertDeniesPerMinute: 3 } },
      policy: { hosts: [{ host: 'a.test', ports: [up.port] }, { host: 'b.test', ports: [up.port] }] },
    });
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  it('answers 429 with Retry-After once a host\'s rate is used up; another host is unaffected (near miss)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await viaProxy(s.port, 'GET', `http://a.test:${up.port}/${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await viaProxy(s.port, 'GET', `http://a.test:${up.port}/again`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json()['error']).toBe('sluice_rate_limited');
    expect((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/`)).status).toBe(200);
  });

  it('logs an alert when an agent is denied again and again', async () => {
    for (let i = 0; i < 5; i++) await viaProxy(s.port, 'GET', `http://nope${i}.test/`);
    await eventually(() => s.lines().find((l) => l['msg'] === 'alert' && l['alert'] === 'denies'));
  });

  it('serves /healthz, /readyz and /metrics with the families after real traffic', async () => {
    expect((await admin('/healthz')).status).toBe(200);
    expect((await admin('/readyz')).status).toBe(200);
    const m = await admin('/metrics');
    expect(m.type).toContain('text/plain');
    for (const family of ['sluice_requests_total', 'sluice_rate_limited_total', 'sluice_open_connections', 'sluice_open_tunnels', 'sluice_policy_reloads_total', 'sluice_leaf_certificates_minted_total', 'sluice_secret_fetches_total']) expect(m.text).toContain(family);
    expect(m.text).toMatch(/sluice_requests_total\{[^}]*decision="deny"/);
  });

  it('readiness flips to 503 on a broken policy edit (the last good policy keeps serving) and back', async () => {
    const file = path.join(s.policyDir, 'test.yaml');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${good}\n  - host: b.test\n    alow: []\n`);
    await eventually(async () => false, 10).catch(() => undefined);
    const notReady = await (async () => {
      for (let i = 0; i < 60; i++) {
        const r = await admin('/readyz');
        if (r.status === 503) return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      return null;
    })();
    expect(notReady?.text).toContain('policy');
    expect((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/still`)).status).toBe(200);
    fs.writeFileSync(file, good);
    for (let i = 0; i < 60; i++) {
      if ((await admin('/readyz')).status === 200) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('readiness did not recover');
  });
});
