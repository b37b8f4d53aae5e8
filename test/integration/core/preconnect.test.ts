// Pre-connecting: a new intercepted tunnel opens its upstream connection once the agent's ClientHello arrives,
// so the upstream handshake runs during the agent's own and a first request to a new host does not wait for a
// second one. The connection goes through the same address check as any dial, is used by the first request,
// and is closed when no request comes. A CONNECT that never speaks TLS opens nothing upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type tls from 'node:tls';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { rawExchange, connectRequest, tlsOver, rawRequestOn } from '../../helpers/clients.ts';

interface Counted {
  readonly upstream: TestUpstream;
  /** TLS connections the upstream accepted, and how many of them have closed. */
  readonly opened: () => number;
  readonly closed: () => number;
}

async function countedUpstream(tlsFiles: { key: string; cert: string }): Promise<Counted> {
  const upstream = await startUpstream({ tls: tlsFiles });
  let opened = 0;
  let closed = 0;
  upstream.server.on('secureConnection', (s: tls.TLSSocket) => {
    opened++;
    s.once('close', () => closed++);
  });
  return { upstream, opened: () => opened, closed: () => closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('upstream pre-connect for intercepted tunnels', () => {
  let ca: ReturnType<typeof makeTestCa>;
  let api: Counted;
  let idle: Counted;
  let unguarded: Counted;
  let blind: Counted;
  let quiet: Counted;
  let s: TestSluice;

  beforeAll(async () => {
    ca = makeTestCa();
    api = await countedUpstream(ca.issue(['api.allowed.test']));
    idle = await countedUpstream(ca.issue(['idle.allowed.test']));
    unguarded = await countedUpstream(ca.issue(['private.allowed.test']));
    blind = await countedUpstream(ca.issue(['blind.allowed.test']));
    quiet = await countedUpstream(ca.issue(['quiet.allowed.test']));
    s = await startTestSluice({
      names: ['api.allowed.test', 'idle.allowed.test', 'private.allowed.test', 'blind.allowed.test', 'quiet.allowed.test', 'denied.test'],
      trustCa: [ca.caPath],
      // private.allowed.test resolves to loopback, which only the entries that say so may reach.
      allowPrivate: [],
      config: { limits: { upstreamPreconnectMs: 400 } },
      policy: {
        hosts: [
          { host: 'api.allowed.test', ports: [api.upstream.port], allowPrivate: ['127.0.0.0/8'] },
          { host: 'idle.allowed.test', ports: [idle.upstream.port], allowPrivate: ['127.0.0.0/8'] },
          { host: 'private.allowed.test', ports: [unguarded.upstream.port] },
          { host: 'blind.allowed.test', ports: [blind.upstream.port], mode: 'tunnel', allowPrivate: ['127.0.0.0/8'] },
          { host: 'quiet.allowed.test', ports: [quiet.upstream.port], allowPrivate: ['127.0.0.0/8'] },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const c of [api, idle, unguarded, blind, quiet]) await c?.upstream.close();
  });

  it('opens the upstream connection when the agent starts TLS, and the first request uses it', async () => {
    const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.upstream.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'api.allowed.test', s.caPem);
    // No request sent yet, and the upstream already has its connection.
    await eventually(() => api.opened() === 1);
    const res = await rawRequestOn(t, `GET /first HTTP/1.1\r\nHost: api.allowed.test:${api.upstream.port}\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(api.upstream.seen.at(-1)?.url).toBe('/first');
    // One connection in all: the request did not dial a second one.
    expect(api.opened()).toBe(1);
  });

  it('opens nothing upstream for a CONNECT that never starts TLS (dropped, or plaintext inside)', async () => {
    const dropped = await rawExchange(s.port, connectRequest(`quiet.allowed.test:${quiet.upstream.port}`));
    expect(dropped.status).toBe(200);
    dropped.socket.destroy();
    const plain = await rawExchange(s.port, connectRequest(`quiet.allowed.test:${quiet.upstream.port}`));
    expect(plain.status).toBe(200);
    plain.socket.write('GET / HTTP/1.1\r\nHost: quiet.allowed.test\r\n\r\n');
    await eventually(() => plain.socket.closed || plain.socket.readableEnded);
    await sleep(100);
    expect(quiet.opened()).toBe(0);
  });

  it('opens nothing upstream for a broken ClientHello or one that names another host (fronting)', async () => {
    const garbage = await rawExchange(s.port, connectRequest(`quiet.allowed.test:${quiet.upstream.port}`));
    expect(garbage.status).toBe(200);
    garbage.socket.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), Buffer.alloc(64, 0xee)]));
    await eventually(() => garbage.socket.closed || garbage.socket.readableEnded);
    const fronted = await rawExchange(s.port, connectRequest(`quiet.allowed.test:${quiet.upstream.port}`));
    expect(fronted.status).toBe(200);
    await expect(tlsOver(fronted.socket, 'api.allowed.test', s.caPem)).rejects.toThrow();
    await sleep(100);
    expect(quiet.opened()).toBe(0);
    expect(api.opened()).toBe(1);
  });

  it('closes a pre-opened connection that no request takes', async () => {
    const c = await rawExchange(s.port, connectRequest(`idle.allowed.test:${idle.upstream.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'idle.allowed.test', s.caPem);
    await eventually(() => idle.opened() === 1);
    await eventually(() => idle.closed() === 1, 3000);
    expect(idle.upstream.seen).toHaveLength(0);
    // A request after that dials afresh and still succeeds.
    const res = await rawRequestOn(t, `GET /late HTTP/1.1\r\nHost: idle.allowed.test:${idle.upstream.port}\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.opened()).toBe(2);
  });

  it('never pre-connects past the address guard: a host resolving to a private address its entry does not allow', async () => {
    const c = await rawExchange(s.port, connectRequest(`private.allowed.test:${unguarded.upstream.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'private.allowed.test', s.caPem);
    const res = await rawRequestOn(t, `GET / HTTP/1.1\r\nHost: private.allowed.test:${unguarded.upstream.port}\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 403/);
    await sleep(100);
    expect(unguarded.opened()).toBe(0);
  });

  it('opens nothing for a denied CONNECT, and nothing extra for a blind tunnel', async () => {
    const denied = await rawExchange(s.port, connectRequest(`denied.test:${api.upstream.port}`));
    expect(denied.status).toBe(403);
    const before = api.opened();
    const c = await rawExchange(s.port, connectRequest(`blind.allowed.test:${blind.upstream.port}`));
    expect(c.status).toBe(200);
    const t = await tlsOver(c.socket, 'blind.allowed.test', ca.caPem);
    const res = await rawRequestOn(t, `GET /blind HTTP/1.1\r\nHost: blind.allowed.test\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    await sleep(100);
    expect(blind.opened()).toBe(1);
    expect(api.opened()).toBe(before);
  });
});

describe('upstream pre-connect turned off', () => {
  it('upstreamPreconnectMs: 0 dials only when the first request arrives', async () => {
    const ca = makeTestCa();
    const api = await countedUpstream(ca.issue(['api.allowed.test']));
    const s = await startTestSluice({
      names: ['api.allowed.test'],
      trustCa: [ca.caPath],
      config: { limits: { upstreamPreconnectMs: 0 } },
      policy: { hosts: [{ host: 'api.allowed.test', ports: [api.upstream.port] }] },
    });
    try {
      const c = await rawExchange(s.port, connectRequest(`api.allowed.test:${api.upstream.port}`));
      expect(c.status).toBe(200);
      const t = await tlsOver(c.socket, 'api.allowed.test', s.caPem);
      await sleep(100);
      expect(api.opened()).toBe(0);
      const res = await rawRequestOn(t, `GET / HTTP/1.1\r\nHost: api.allowed.test:${api.upstream.port}\r\nConnection: close\r\n\r\n`);
      expect(res).toMatch(/^HTTP\/1\.1 200/);
      expect(api.opened()).toBe(1);
    } finally {
      await s.close();
      await api.upstream.close();
    }
  });
});
