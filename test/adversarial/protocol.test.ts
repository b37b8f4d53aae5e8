// Protocol oddities (THREATS 2.5, 2.8, 2.9): garbage where TLS should be, HTTP/2 on the HTTP/1.1 side, upgrades
// that were not asked for or not allowed, bytes after a declared message end, and Expect: 100-continue bodies
// that are then blocked. Nothing in these cases may reach an upstream, or reach the agent past a message end.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRequest, rawExchange } from '../helpers/clients.ts';
import { eventually } from '../helpers/sluice.ts';
import { checkInvariantsAndClose, exchangeOn, rawToSluice, startEnv, upstreamSaw, SECRET, type Env, type TeeHandler } from './support.ts';

const handler: TeeHandler = (req, res, body) => {
  const url = req.url ?? '';
  if (url.startsWith('/switch')) {
    // An unrequested 101: whatever follows must never be relayed as raw bytes.
    res.socket!.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nRAW-AFTER-101');
    res.socket!.end();
    return;
  }
  if (url.startsWith('/overrun')) {
    res.socket!.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA-AFTER-END HTTP/1.1 200 OK\r\n\r\n');
    res.socket!.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ url, bodyLength: body.length, upgrade: req.headers['upgrade'] ?? null, settings: req.headers['http2-settings'] ?? null, expect: req.headers['expect'] ?? null }));
};

let env: Env;
let host: string;

beforeAll(async () => {
  env = await startEnv({ plainHandler: handler, secureHandler: handler });
  host = `plain.allowed.test:${env.plain.port}`;
});
afterAll(() => checkInvariantsAndClose(env));

describe('inside an intercepted tunnel', () => {
  async function connected(): Promise<import('node:net').Socket> {
    const c = await rawExchange(env.s.port, connectRequest(`api.allowed.test:${env.secure.port}`));
    expect(c.status).toBe(200);
    return c.socket;
  }

  it('a ClientHello with a valid record header and garbage inside is dropped with an audit line; nothing goes upstream', async () => {
    const socket = await connected();
    const before = env.secure.raw.length;
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), Buffer.alloc(64, 0xee)]);
    const r = await exchangeOn(socket, [garbage], env.witness, { waitMs: 3000 });
    expect(r.closed).toBe(true);
    expect(r.text).not.toMatch(/HTTP\/1\.1 200/);
    expect(env.secure.raw.length).toBe(before);
    await eventually(() => env.s.audit().find((l) => l['method'] === 'CONNECT' && /TLS handshake/.test(String(l['reason']))));
  });

  it('random bytes that are not TLS at all are dropped', async () => {
    const socket = await connected();
    const r = await exchangeOn(socket, [Buffer.from('\x00\x01\x02\x03garbage\r\n\r\n', 'latin1')], env.witness, { waitMs: 3000 });
    expect(r.closed).toBe(true);
    expect(r.text).toBe('');
  });

  it('a client that offers only h2 by ALPN is not served HTTP/2, and a prior-knowledge preface gets no h2 answer', async () => {
    const socket = await connected();
    const outcome = await new Promise<{ alpn: string | false | null; error: string | null; t: tls.TLSSocket | null }>((resolve) => {
      const t = tls.connect({ socket, servername: 'api.allowed.test', ca: env.s.caPem, ALPNProtocols: ['h2'] }, () => resolve({ alpn: t.alpnProtocol ?? null, error: null, t }));
      t.once('error', (e) => resolve({ alpn: null, error: (e as NodeJS.ErrnoException).code ?? e.message, t: null }));
    });
    expect(outcome.alpn).not.toBe('h2');
    if (outcome.t) {
      const r = await exchangeOn(outcome.t, ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], env.witness, { waitMs: 2000 });
      expect([undefined, 400]).toContain(r.statuses[0]);
      outcome.t.destroy();
    }
  });
});

describe('upgrades', () => {
  it('an HTTP/2 prior-knowledge preface with a following frame gets 400, never a SETTINGS frame', async () => {
    const r = await rawToSluice(env.s.port, [Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])], env.witness);
    expect(r.statuses[0]).toBe(400);
    expect(r.text.startsWith('HTTP/1.1')).toBe(true);
  });

  it('Upgrade: h2c with HTTP2-Settings is refused or stripped, never passed on', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/h2c HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`, env.witness);
    expect([200, 400, 403]).toContain(r.statuses[0]);
    for (const seen of upstreamSaw(env.plain, '/h2c')) {
      expect(seen.headers['upgrade']).toBeUndefined();
      expect(seen.headers['http2-settings']).toBeUndefined();
    }
    expect(r.statuses).not.toContain(101);
  });

  it.each([
    ['a denied host', 'denied.test'],
    ['an allowed host whose entry does not allow WebSockets', 'plain.allowed.test'],
  ])('a WebSocket upgrade to %s is 403 and the upstream sees nothing', async (_n, name) => {
    const hp = `${name}:${env.plain.port}`;
    const r = await rawToSluice(env.s.port, `GET http://${hp}/ws-denied HTTP/1.1\r\nHost: ${hp}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, env.witness);
    expect(r.statuses[0]).toBe(403);
    expect(upstreamSaw(env.plain, '/ws-denied')).toEqual([]);
  });

  it('an unrequested 101 from the upstream is not turned into a raw relay', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/switch HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, env.witness, { waitMs: 3000 });
    expect(r.text).not.toContain('RAW-AFTER-101');
    expect(r.statuses[0]).not.toBe(101);
  });

  it('bytes after the declared end of a response never reach the agent', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/overrun HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, env.witness, { waitMs: 3000 });
    expect(r.text).not.toContain('EXTRA-AFTER-END');
    expect(r.statuses.length).toBeLessThanOrEqual(1);
  });
});

describe('half-close', () => {
  it('a complete request followed by a half-close (shutdown of the write side) is still answered', async () => {
    const net = await import('node:net');
    const out = await new Promise<string>((resolve) => {
      const c = net.connect(env.s.port, '127.0.0.1');
      let buf = '';
      c.on('data', (d: Buffer) => (buf += d.toString('latin1')));
      c.on('error', () => undefined);
      c.on('close', () => resolve(buf));
      c.on('connect', () => c.end(`GET http://${host}/half-close HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      setTimeout(() => c.destroy(), 3000);
    });
    env.witness.add(out);
    expect(out).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('Expect: 100-continue', () => {
  it('near miss: a clean body after 100 Continue is forwarded once, and Expect is not passed upstream', async () => {
    const head = `POST http://${host}/expect-ok HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [head, 'hello world'], env.witness, { gapMs: 100, responses: 2 });
    expect(r.statuses.at(-1)).toBe(200);
    const seen = upstreamSaw(env.plain, '/expect-ok');
    expect(seen.length).toBe(1);
    expect(seen[0]!.body.toString()).toBe('hello world');
    expect(seen[0]!.headers['expect']).toBeUndefined();
  });

  it('a body sent after 100 Continue that carries the secret is blocked; the upstream sees nothing', async () => {
    const body = `token=${SECRET}`;
    const head = `POST http://${host}/expect-block HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [head, body], env.witness, { gapMs: 100, responses: 2 });
    expect(r.statuses.at(-1)).toBe(403);
    expect(r.text).toContain('sluice_guard_blocked');
    expect(upstreamSaw(env.plain, '/expect-block')).toEqual([]);
  });

  it('a denied Expect request whose body is a second request: the body is never parsed as a request (0.CL desync)', async () => {
    const inner = `GET http://${host}/expect-smuggled HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const head = `POST http://denied.test:${env.plain.port}/x HTTP/1.1\r\nHost: denied.test\r\nExpect: 100-continue\r\nContent-Length: ${inner.length}\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [head, inner], env.witness, { gapMs: 50, responses: 2, waitMs: 2000 });
    expect(r.statuses.filter((s) => s !== 100)[0]).toBe(403);
    expect(upstreamSaw(env.plain, '/expect-smuggled')).toEqual([]);
  });
});
