// The admin endpoints of a real Sluice after real traffic: an inspected HTTPS exchange through CONNECT, a
// denied host, then every metric family on /metrics, and /readyz flipping on a broken policy edit.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCa, type TestCa } from '../../helpers/certs.ts';
import { httpsViaProxy, viaProxy } from '../../helpers/clients.ts';
import { eventually, startTestSluice, type TestSluice } from '../../helpers/sluice.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { FAMILIES } from '../../unit/admin/families.ts';

let ca: TestCa;
let upstream: TestUpstream;
let s: TestSluice;
let admin: string;

const policyFor = (port: number) => `hosts:\n  - host: api.test\n    ports: [${port}]\n`;

beforeAll(async () => {
  ca = makeTestCa('admin');
  upstream = await startUpstream({ tls: ca.issue(['api.test']) });
  s = await startTestSluice({ policy: policyFor(upstream.port), names: ['api.test'], trustCa: [ca.caPath], config: { admin: '127.0.0.1:0' } });
  admin = `http://${s.sluice.admin!}`;
});

afterAll(async () => {
  await s?.close();
  await upstream?.close();
  if (ca) fs.rmSync(ca.dir, { recursive: true, force: true });
  if (s) fs.rmSync(s.dir, { recursive: true, force: true });
});

async function metricsText(): Promise<string> {
  const res = await fetch(`${admin}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('admin endpoints of a running Sluice', () => {
  it('is healthy and ready once listening', async () => {
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${admin}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['policy', 'ca']));
  });

  it('counts real exchanges in every family, labelling denied hosts "denied"', async () => {
    const ok = await httpsViaProxy(s.proxyUrl, s.caPem, `https://api.test:${upstream.port}/hello`);
    expect(ok.status).toBe(200);
    const denied = await viaProxy(s.port, 'GET', 'http://exfil-7d1c.attacker.test/steal');
    expect(denied.status).toBe(403);
    await eventually(() => s.audit().length >= 2);
    const text = await metricsText();
    for (const family of FAMILIES) expect(text, family).toContain(`# TYPE ${family} `);
    expect(text).not.toContain('attacker.test');
    expect(text).toMatch(/sluice_requests_total\{decision="deny",host="denied",status="403"\} 1/);
    // The inner GET and the CONNECT that carried it are both "allow" exchanges.
    expect(text).toMatch(/sluice_requests_total\{decision="allow",host="[^"]+",status="200"\} [12]\n/);
    expect(text).toMatch(/sluice_bytes_out_total\{host="[^"]+"\} [1-9]/);
    expect(sample(text, 'sluice_leaf_cache_size')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'sluice_tunnels_total{mode="inspect"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'sluice_connections_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'sluice_request_duration_seconds_count{decision="allow"}')).toBeGreaterThanOrEqual(1);
  });

  it('counts the leaf certificate minted for the inspected host', async () => {
    expect((await httpsViaProxy(s.proxyUrl, s.caPem, `https://api.test:${upstream.port}/leaf`)).status).toBe(200);
    expect(sample(await metricsText(), 'sluice_leaf_certificates_minted_total')).toBeGreaterThanOrEqual(1);
  });

  it('turns /readyz to 503 on a broken policy edit and back to 200 when it is fixed', async () => {
    const file = path.join(s.policyDir, 'test.yaml');
    fs.writeFileSync(file, 'hosts:\n  - hots: api.test\n');
    await pollStatus(`${admin}/readyz`, 503);
    const body = (await (await fetch(`${admin}/readyz`)).json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(body.ready).toBe(false);
    expect(body.checks.find((c) => c.name === 'policy')?.ok).toBe(false);
    // The last good policy keeps serving meanwhile.
    expect((await httpsViaProxy(s.proxyUrl, s.caPem, `https://api.test:${upstream.port}/still`)).status).toBe(200);
    fs.writeFileSync(file, policyFor(upstream.port));
    await pollStatus(`${admin}/readyz`, 200);
    expect(sample(await metricsText(), 'sluice_policy_reloads_total{result="failed"}')).toBeGreaterThanOrEqual(1);
  });
});

/** Polls until the URL answers `status`; fails after 15 s (a reload that never happens, not a timing check). */
async function pollStatus(url: string, status: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if ((await fetch(url)).status === status) return;
    if (Date.now() > deadline) throw new Error(`${url} never answered ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
