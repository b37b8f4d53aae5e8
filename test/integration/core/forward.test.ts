// The intercepting core end to end: plain HTTP and HTTPS through CONNECT to real upstreams, denial, audit lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, sha256, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { viaProxy, httpsViaProxy } from '../../helpers/clients.ts';

describe('forwarding through Sluice', () => {
  let plain: TestUpstream;
  let secure: TestUpstream;
  let s: TestSluice;

  beforeAll(async () => {
    const ca = makeTestCa();
    plain = await startUpstream();
    secure = await startUpstream({ tls: ca.issue(['api.allowed.test']) });
    s = await startTestSluice({
      names: ['plain.allowed.test', 'api.allowed.test', 'denied.test'],
      trustCa: [ca.caPath],
      policy: {
        hosts: [
          { host: 'plain.allowed.test', ports: [plain.port] },
          { host: 'api.allowed.test', ports: [secure.port] },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await plain?.close();
    await secure?.close();
  });

  it('relays an allowed plain-HTTP GET and logs one audit line with the contract fields', async () => {
    const res = await viaProxy(s.port, 'GET', `http://plain.allowed.test:${plain.port}/hello?token=abc`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ method: 'GET', url: '/hello?token=abc', host: `plain.allowed.test:${plain.port}` });
    const line = await eventually(() => s.audit().find((l) => l['host'] === 'plain.allowed.test'));
    expect(line).toMatchObject({ decision: 'allow', agent: 'default', method: 'GET', port: plain.port, status: 200 });
    expect(line['path']).toBe('/hello?token=[redacted]');
    expect(typeof line['durationMs']).toBe('number');
  });

  it('relays a POST body byte for byte over HTTPS (CONNECT + interception)', async () => {
    const body = crypto.randomBytes(256 * 1024);
    const res = await httpsViaProxy(s.proxyUrl, s.caPem, `https://api.allowed.test:${secure.port}/upload`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.json()['sha256']).toBe(sha256(body));
    expect(secure.seen.at(-1)?.sha256).toBe(sha256(body));
  });

  it('denies a host no entry matches with the contract 403, and the upstream sees nothing', async () => {
    const before = plain.seen.length;
    const res = await viaProxy(s.port, 'GET', `http://denied.test:${plain.port}/x`);
    expect(res.status).toBe(403);
    expect(res.headers['x-sluice-decision']).toBe('deny');
    const body = res.json();
    expect(body['error']).toBe('sluice_policy_denied');
    expect(String(body['message'])).toContain('denied.test');
    expect(plain.seen.length).toBe(before);
    await eventually(() => s.audit().find((l) => l['host'] === 'denied.test' && l['decision'] === 'deny'));
  });

  it('denies an allowed host on a port the entry does not list (near miss of the allowed port)', async () => {
    const res = await viaProxy(s.port, 'GET', `http://plain.allowed.test:${secure.port}/x`);
    expect(res.status).toBe(403);
  });

  it('never forwards Proxy-Authorization, hop-by-hop headers or the agent Authorization', async () => {
    await viaProxy(s.port, 'GET', `http://plain.allowed.test:${plain.port}/h`, {
      headers: { 'proxy-authorization': 'Basic Zm9vOmJhcg==', authorization: 'Bearer agent-own', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'keep-alive': 'timeout=5', 'x-keep': 'yes' },
    });
    const seen = plain.seen.at(-1)!;
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.headers['x-drop-me']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers['x-keep']).toBe('yes');
  });

  it('passes redirects back to the agent without following them', async () => {
    const redirecting = await startUpstream({ handler: (_req, res) => { res.writeHead(302, { location: 'http://denied.test/steal' }); res.end(); } });
    const s2 = await startTestSluice({ names: ['r.allowed.test'], policy: { hosts: [{ host: 'r.allowed.test', ports: [redirecting.port] }] } });
    try {
      const res = await viaProxy(s2.port, 'GET', `http://r.allowed.test:${redirecting.port}/`);
      expect(res.status).toBe(302);
      expect(res.headers['location']).toBe('http://denied.test/steal');
      expect(redirecting.seen.length).toBe(1);
    } finally {
      await s2.close();
      await redirecting.close();
    }
  });

  it('answers 502 when the upstream refuses the connection', async () => {
    const dead = await startUpstream();
    const port = dead.port;
    await dead.close();
    const s3 = await startTestSluice({ names: ['gone.test'], policy: { hosts: [{ host: 'gone.test', ports: [port] }] } });
    try {
      const res = await viaProxy(s3.port, 'GET', `http://gone.test:${port}/`);
      expect(res.status).toBe(502);
      expect(res.json()['error']).toBe('sluice_upstream_failed');
    } finally {
      await s3.close();
    }
  });
});

describe('upstream failures map to the contract', () => {
  it('502 when the upstream certificate is not trusted, 504 when it does not answer in time; nothing is sent to the untrusted one', async () => {
    const trusted = makeTestCa('trusted');
    const rogue = makeTestCa('rogue');
    const impostor = await startUpstream({ tls: rogue.issue(['api.bank.test']) });
    const stalled = await startUpstream({ tls: trusted.issue(['slow.bank.test']), handler: () => undefined });
    const s = await startTestSluice({
      names: ['api.bank.test', 'slow.bank.test'],
      trustCa: [trusted.caPath],
      config: { limits: { upstreamHeadersTimeoutMs: 500 } },
      policy: { hosts: [{ host: 'api.bank.test', ports: [impostor.port] }, { host: 'slow.bank.test', ports: [stalled.port] }] },
    });
    try {
      const bad = await httpsViaProxy(s.proxyUrl, s.caPem, `https://api.bank.test:${impostor.port}/`);
      expect(bad.status).toBe(502);
      expect(bad.json()['error']).toBe('sluice_upstream_failed');
      expect(impostor.seen.length).toBe(0);
      const slow = await httpsViaProxy(s.proxyUrl, s.caPem, `https://slow.bank.test:${stalled.port}/`);
      expect(slow.status).toBe(504);
      expect(slow.json()['error']).toBe('sluice_upstream_timeout');
    } finally {
      await s.close();
      await impostor.close();
      await stalled.close();
    }
  });

  it('denies IP-literal destinations in any spelling unless the policy names the address (near miss: named)', async () => {
    const up = await startUpstream();
    const s = await startTestSluice({ policy: { hosts: [{ host: 'named.test', ports: [up.port] }] }, names: ['named.test'] });
    const s2 = await startTestSluice({ policy: { hosts: [{ host: '127.0.0.1', ports: [up.port] }] } });
    try {
      for (const spelling of ['127.0.0.1', '2130706433', '0x7f.1', '017700000001', '127.1']) {
        const res = await viaProxy(s.port, 'GET', `http://${spelling}:${up.port}/`);
        expect(res.status, spelling).toBe(403);
      }
      expect(up.seen.length).toBe(0);
      for (const spelling of ['127.0.0.1', '2130706433', '0x7f.1']) {
        const res = await viaProxy(s2.port, 'GET', `http://${spelling}:${up.port}/`);
        expect(res.status, spelling).toBe(200);
      }
    } finally {
      await s.close();
      await s2.close();
      await up.close();
    }
  });
});

describe('proxy loops', () => {
  it('refuses a request that already carries this Sluice\'s Via mark; another proxy\'s Via passes (near miss)', async () => {
    const up = await startUpstream();
    const s = await startTestSluice({ names: ['loop.test'], policy: { hosts: [{ host: 'loop.test', ports: [up.port] }] } });
    try {
      await viaProxy(s.port, 'GET', `http://loop.test:${up.port}/first`);
      const mark = String(up.seen.at(-1)!.headers['via']);
      expect(mark).toMatch(/^1\.1 sluice-[0-9a-f]+$/);
      const before = up.seen.length;
      const looped = await viaProxy(s.port, 'GET', `http://loop.test:${up.port}/again`, { headers: { via: `1.1 corp-proxy, ${mark}` } });
      expect(looped.status).toBe(400);
      expect(looped.json()['error']).toBe('sluice_bad_request');
      expect(up.seen.length).toBe(before);
      const foreign = await viaProxy(s.port, 'GET', `http://loop.test:${up.port}/ok`, { headers: { via: '1.1 corp-proxy' } });
      expect(foreign.status).toBe(200);
    } finally {
      await s.close();
      await up.close();
    }
  });
});
