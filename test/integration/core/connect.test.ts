// CONNECT: interception, blind tunnels, domain fronting, garbage inside tunnels, keep-alive re-decisions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { rawExchange, connectRequest, tlsOver, rawRequestOn } from '../../helpers/clients.ts';

describe('CONNECT', () => {
  let ca: ReturnType<typeof makeTestCa>;
  let api: TestUpstream;
  let blind: TestUpstream;
  let s: TestSluice;

  beforeAll(async () => {
    ca = makeTestCa();
    api = await startUpstream({ tls: ca.issue(['api.allowed.test', 'other.allowed.test']) });
    blind = await startUpstream({ tls: ca.issue(['blind.allowed.test']) });
    s = await startTestSluice({
      names: ['api.allowed.test', 'other.allowed.test', 'blind.allowed.test', 'denied.test', 'meta.allowed.test'],
      trustCa: [ca.caPath],
      config: { upstream: { resolve: { 'api.allowed.test': '127.0.0.1', 'other.allowed.test': '127.0.0.1', 'blind.allowed.test': '127.0.0.1', 'denied.test': '127.0.0.1', 'meta.allowed.test': '169.254.169.254' }, trustCa: [ca.caPath], allowPrivate: ['127.0.0.0/8'] } },
      policy: {
        hosts: [
          { host: 'api.allowed.test', ports: [api.port] },
          { host: 'other.allowed.test', ports: [api.port] },
          { host: 'blind.allowed.test', ports: [blind.port], mode: 'tunnel' },
          { host: 'meta.allowed.test', ports: [api.port] },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await api?.close();
    await blind?.close();
  });

  it('intercepts: the agent sees a leaf signed by Sluice for exactly the CONNECT host', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'api.allowed.test', s.caPem);
    const cert = t.getPeerCertificate();
    expect(cert.subjectaltname).toBe('DNS:api.allowed.test');
    expect(tls.checkServerIdentity('other.allowed.test', cert)).toBeInstanceOf(Error);
    const res = await rawRequestOn(t, `GET /inside HTTP/1.1\r\nHost: api.allowed.test:${api.port}\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(api.seen.at(-1)?.url).toBe('/inside');
  });

  it('tunnel mode is blind: the upstream\'s own certificate reaches the client', async () => {
    const c = await rawExchange(s.port, connectRequest(`blind.allowed.test:${blind.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'blind.allowed.test', ca.caPem);
    expect(t.authorized).toBe(true);
    expect(t.getPeerCertificate().issuer.CN).toContain('Sluice test upstream CA');
    const res = await rawRequestOn(t, `GET /blind HTTP/1.1\r\nHost: blind.allowed.test\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    const line = await eventually(() => s.audit().find((l) => l['host'] === 'blind.allowed.test' && l['decision'] === 'tunnel'));
    expect(line['bytesOut'] as number).toBeGreaterThan(0);
  });

  it('refuses a denied CONNECT with 403 + JSON and closes; no certificate is minted for it', async () => {
    const c = await rawExchange(s.port, connectRequest(`denied.test:${api.port}`));
    expect(c.status).toBe(403);
    expect(c.head.toLowerCase()).toContain('x-sluice-decision: deny');
    expect(JSON.parse(c.rest.toString())['error']).toBe('sluice_policy_denied');
    await eventually(() => c.socket.closed || c.socket.readableEnded);
  });

  it.each([
    ['no port', 'api.allowed.test'],
    ['port 0', 'api.allowed.test:0'],
    ['port 65536', 'api.allowed.test:65536'],
    ['NUL byte', 'evil.test%00.api.allowed.test:443'],
    ['userinfo', 'api.allowed.test:443@evil.test:443'],
    ['bracketed name', '[api.allowed.test]:443'],
  ])('rejects a malformed CONNECT authority (%s) with 400', async (_name, authority) => {
    const c = await rawExchange(s.port, connectRequest(authority));
    expect([400]).toContain(c.status);
    c.socket.destroy();
  });

  it('refuses domain fronting by SNI: CONNECT for one allowed host, TLS for another', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.port}`));
    await expect(tlsOver(c.socket, 'other.allowed.test', s.caPem)).rejects.toThrow();
    await eventually(() => s.audit().find((l) => l['method'] === 'CONNECT' && String(l['reason']).includes('domain fronting')));
  });

  it('refuses domain fronting by Host inside the tunnel, while the matching Host passes (near miss)', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.port}`));
    const t = await tlsOver(c.socket, 'api.allowed.test', s.caPem);
    const before = api.seen.length;
    const fronted = await rawRequestOn(t, `GET /f HTTP/1.1\r\nHost: other.allowed.test:${api.port}\r\n\r\n`, 1000);
    expect(fronted).toMatch(/^HTTP\/1\.1 403/);
    expect(api.seen.length).toBe(before);
    const ok = await rawRequestOn(t, `GET /ok HTTP/1.1\r\nHost: api.allowed.test:${api.port}\r\nConnection: close\r\n\r\n`);
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
  });

  it('closes a tunnel whose client speaks plaintext instead of TLS, with an audit line', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.port}`));
    const before = api.seen.length;
    const out = await rawRequestOn(c.socket, `GET / HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n`, 2000);
    expect(out).toBe('');
    expect(api.seen.length).toBe(before);
    await eventually(() => s.audit().find((l) => String(l['reason']).includes('did not start TLS')));
  });

  it('decides every request inside a keep-alive tunnel again (many requests, one connection)', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.port}`));
    const t = await tlsOver(c.socket, 'api.allowed.test', s.caPem);
    const before = api.seen.length;
    let buf = '';
    t.on('data', (d: Buffer) => (buf += d.toString('latin1')));
    for (let i = 0; i < 50; i++) {
      t.write(`GET /k/${i} HTTP/1.1\r\nHost: api.allowed.test:${api.port}\r\n\r\n`);
      await eventually(() => (buf.match(/HTTP\/1\.1 200/g) ?? []).length === i + 1);
    }
    expect(api.seen.length - before).toBe(50);
    t.destroy();
  });

  it('refuses a name that resolves to the metadata address (403 before any connection)', async () => {
    const c = await rawExchange(s.port, connectRequest(`meta.allowed.test:${api.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'meta.allowed.test', s.caPem);
    const res = await rawRequestOn(t, `GET / HTTP/1.1\r\nHost: meta.allowed.test:${api.port}\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 403/);
    expect(res).toContain('sluice_policy_denied');
  });

  it('answers the HTTP/2 prior-knowledge preface with 400 and closes', async () => {
    const c = await rawExchange(s.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(c.status).toBe(400);
  });
});

describe('blind tunnel SNI', () => {
  it('refuses a blind tunnel whose SNI names another host, and plaintext; the matching SNI passes (near miss)', async () => {
    const ca = makeTestCa();
    const up = await startUpstream({ tls: ca.issue(['blind.allowed.test', 'fronted.test']) });
    const s = await startTestSluice({ names: ['blind.allowed.test'], trustCa: [ca.caPath], policy: { hosts: [{ host: 'blind.allowed.test', ports: [up.port], mode: 'tunnel' }] } });
    try {
      const fronted = await rawExchange(s.port, connectRequest(`blind.allowed.test:${up.port}`));
      expect(fronted.status).toBe(200);
      await expect(tlsOver(fronted.socket, 'fronted.test', ca.caPem)).rejects.toThrow();
      const plain = await rawExchange(s.port, connectRequest(`blind.allowed.test:${up.port}`));
      expect(await rawRequestOn(plain.socket, 'GET / HTTP/1.1\r\nHost: blind.allowed.test\r\n\r\n', 1500)).toBe('');
      const ok = await rawExchange(s.port, connectRequest(`blind.allowed.test:${up.port}`));
      const t = await tlsOver(ok.socket, 'blind.allowed.test', ca.caPem);
      expect(await rawRequestOn(t, 'GET / HTTP/1.1\r\nHost: blind.allowed.test\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
      expect(up.seen.length).toBe(1);
      await eventually(() => s.audit().find((l) => String(l['reason']).includes('domain fronting')));
    } finally {
      await s.close();
      await up.close();
    }
  });
});

describe('clients that give up during CONNECT', () => {
  it('a client that closes while Sluice dials releases both sockets at once (no 15 s ClientHello wait)', async () => {
    const ca = makeTestCa();
    const up = await startUpstream({ tls: ca.issue(['gone.allowed.test']) });
    const s = await startTestSluice({ names: ['gone.allowed.test'], trustCa: [ca.caPath], policy: { hosts: [{ host: 'gone.allowed.test', ports: [up.port], mode: 'tunnel' }] } });
    try {
      const started = Date.now();
      for (let i = 0; i < 20; i++) {
        const socket = (await import('node:net')).connect(s.port, '127.0.0.1');
        await new Promise((r) => socket.once('connect', r));
        socket.write(connectRequest(`gone.allowed.test:${up.port}`));
        socket.destroy();
      }
      // Every abandoned CONNECT is audited well before the 15 s ClientHello timeout would have fired.
      await eventually(() => s.audit().filter((l) => l['method'] === 'CONNECT').length >= 20, 5000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(s.sluice.metrics.registry.getSingleMetric('sluice_open_tunnels')).toBeDefined();
      const open = (await s.sluice.metrics.registry.getSingleMetricAsString('sluice_open_tunnels')).match(/mode="tunnel"\} (\d+)/)?.[1];
      expect(Number(open ?? 0)).toBe(0);
    } finally {
      await s.close();
      await up.close();
    }
  });
});
