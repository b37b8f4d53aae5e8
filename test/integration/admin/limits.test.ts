// Limits through a real Sluice: the request rate per agent answers 429 with Retry-After and the contract JSON
// (the requests up to the budget pass), a tunnel over the cap is refused and a closed one frees its slot,
// and each refusal is counted in sluice_rate_limited_total.
import fs from 'node:fs';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { connectRequest, rawExchange, viaProxy, type RawConnect } from '../../helpers/clients.ts';
import { startTestSluice, type TestSluice } from '../../helpers/sluice.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

let upstream: TestUpstream;
const running: TestSluice[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream?.close();
});
afterEach(async () => {
  for (const s of running.splice(0)) {
    await s.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

async function start(limits: Record<string, number>, mode = 'inspect'): Promise<TestSluice> {
  const s = await startTestSluice({
    policy: `hosts:\n  - host: api.test\n    ports: [${upstream.port}]\n    mode: ${mode}\n`,
    names: ['api.test'],
    config: { admin: '127.0.0.1:0', limits },
  });
  running.push(s);
  return s;
}

async function metric(s: TestSluice, series: string): Promise<number> {
  const text = await (await fetch(`http://${s.sluice.admin!}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** CONNECT until one is accepted; bounded, so a slot that is never released fails the test. */
async function connectWhenFree(s: TestSluice, authority: string): Promise<RawConnect> {
  for (let i = 0; i < 100; i++) {
    const r = await rawExchange(s.port, connectRequest(authority));
    if (r.status === 200) return r;
    r.socket.destroy();
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the tunnel slot was never released');
}

describe('limits through the proxy', () => {
  it('admits requests up to the per-agent budget, then answers 429 with Retry-After and sluice_rate_limited', async () => {
    const s = await start({ requestsPerMinutePerAgent: 3 });
    const url = `http://api.test:${upstream.port}/x`;
    for (let i = 0; i < 3; i++) expect((await viaProxy(s.port, 'GET', url)).status).toBe(200);
    const limited = await viaProxy(s.port, 'GET', url);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('20');
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.json().error).toBe('sluice_rate_limited');
    expect(await metric(s, 'sluice_rate_limited_total{kind="agent_requests"}')).toBe(1);
    const audit = s.audit().find((l) => l['status'] === 429);
    expect(audit?.['decision']).toBe('deny');
  });

  it('refuses a tunnel over the per-agent cap with 429 and admits one again after the first closes', async () => {
    const s = await start({ maxTunnelsPerAgent: 1 }, 'tunnel');
    const authority = `api.test:${upstream.port}`;
    const first = await rawExchange(s.port, connectRequest(authority));
    expect(first.status).toBe(200);
    const second = await rawExchange(s.port, connectRequest(authority));
    expect(second.status).toBe(429);
    expect(second.head.toLowerCase()).toMatch(/\r\nretry-after: \d+/);
    second.socket.destroy();
    expect(await metric(s, 'sluice_rate_limited_total{kind="agent_tunnels"}')).toBe(1);
    first.socket.destroy();
    const third = await connectWhenFree(s, authority);
    third.socket.destroy();
  });
});
