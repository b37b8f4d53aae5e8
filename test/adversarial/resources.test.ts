// Resource attacks (THREATS 2.11), all bounded: slowloris, a thousand idle connections, oversized heads, URLs and
// header counts, decompression bombs both ways, stacked encodings, endless streams, leaf-certificate cache pressure
// and a WebSocket frame flood. After each, the control request must still work (G4).
import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRequest, rawExchange, tlsOver } from '../helpers/clients.ts';
import { eventually } from '../helpers/sluice.ts';
import { attachWebSocketEcho } from '../helpers/websocket.ts';
import { checkInvariantsAndClose, exchangeOn, rawToSluice, startEnv, upstreamSaw, type Env, type TeeHandler } from './support.ts';

const MiB = 1024 * 1024;
const BOMB = zlib.gzipSync(Buffer.alloc(200 * MiB), { level: 9 });
const endlessClosed = new Set<string>();

const handler: TeeHandler = (req, res) => {
  const url = req.url ?? '';
  if (url.startsWith('/bomb')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(BOMB.length) });
    res.end(BOMB);
  } else if (url.startsWith('/stacked')) {
    let body: Buffer = Buffer.from('stacked encodings');
    for (let i = 0; i < 8; i++) body = zlib.gzipSync(body);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': Array(8).fill('gzip').join(', ') });
    res.end(body);
  } else if (url.startsWith('/endless')) {
    res.writeHead(200, { 'content-type': url.includes('text') ? 'text/plain' : 'application/octet-stream' });
    const block = url.includes('text') ? Buffer.alloc(64 * 1024, 'endless text stream ') : crypto.randomBytes(64 * 1024);
    const pump = () => {
      while (!res.destroyed && res.write(block));
      if (!res.destroyed) res.once('drain', pump);
    };
    res.once('close', () => endlessClosed.add(url));
    pump();
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url }));
  }
};

let env: Env;
let host: string;

beforeAll(async () => {
  env = await startEnv({
    plainHandler: handler,
    names: ['ws.allowed.test', 'bomb.allowed.test'],
    resolve: { '*.wild.test': '127.0.0.1' },
    limits: { headerTimeoutMs: 1000, requestTimeoutMs: 4000, maxUrlLength: 2048, maxHeaderCount: 50, maxHeaderBytes: 16 * 1024, leafCacheSize: 4 },
    config: { admin: '127.0.0.1:0' },
    extraCertNames: ['*.wild.test'],
    hosts: (p) => [
      { host: '*.wild.test', ports: [p.secure] },
      { host: 'ws.allowed.test', ports: [p.plain], websocket: true },
      { host: 'bomb.allowed.test', ports: [p.plain], guard: { maxDecodedBytes: 4 * MiB } },
    ],
  });
  attachWebSocketEcho(env.plain.server);
  host = `plain.allowed.test:${env.plain.port}`;
});
afterAll(() => checkInvariantsAndClose(env));

async function metric(name: string): Promise<number> {
  const text = await env.s.sluice.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

describe('slow and idle clients', () => {
  it('slowloris: headers dripped one byte at a time are cut off after the header timeout (1 s)', async () => {
    const drip = [...`X-Slow: ${'a'.repeat(60)}\r\n`].map((c) => c);
    const r = await rawToSluice(env.s.port, [`GET http://${host}/slowloris HTTP/1.1\r\nHost: ${host}\r\n`, ...drip], env.witness, { gapMs: 150, waitMs: 6000 });
    expect(r.closed, 'Sluice closed the slow connection').toBe(true);
    expect([0, 408]).toContain(r.statuses[0] ?? 0);
    expect(upstreamSaw(env.plain, '/slowloris')).toEqual([]);
  });

  it('slowloris body: a body dripped slower than the request timeout is cut off and never forwarded whole', async () => {
    const head = `POST http://${host}/slowbody HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [head, ...Array(60).fill('x')], env.witness, { gapMs: 150, waitMs: 8000 });
    expect(r.closed).toBe(true);
    expect(upstreamSaw(env.plain, '/slowbody').filter((x) => x.body.length === 100)).toEqual([]);
  });

  it('1000 idle connections are held while a control request still succeeds', async () => {
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 1000; i++) {
        const s = net.connect(env.s.port, '127.0.0.1');
        s.on('error', () => undefined);
        sockets.push(s);
      }
      await Promise.all(sockets.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r).once('error', r) : r(null)))));
      expect(await env.control()).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('oversized heads are refused with the right status', () => {
  it('a header block over maxHeaderBytes gets 431', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/big-head HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, env.witness);
    expect(r.statuses[0]).toBe(431);
    expect(upstreamSaw(env.plain, '/big-head')).toEqual([]);
  });

  it('near miss: a header block just under the cap passes', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/ok-head HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(8 * 1024)}\r\nConnection: close\r\n\r\n`, env.witness);
    expect(r.statuses[0]).toBe(200);
  });

  it('a URL over maxUrlLength gets 414; one under it passes', async () => {
    const long = await rawToSluice(env.s.port, `GET http://${host}/long-url?${'q'.repeat(3000)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, env.witness);
    expect(long.statuses[0]).toBe(414);
    expect(upstreamSaw(env.plain, '/long-url')).toEqual([]);
    const short = await rawToSluice(env.s.port, `GET http://${host}/short-url?${'q'.repeat(1500)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, env.witness);
    expect(short.statuses[0]).toBe(200);
  });

  it('more headers than maxHeaderCount gets 431; exactly the cap passes', async () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
    const many = await rawToSluice(env.s.port, `GET http://${host}/many-headers HTTP/1.1\r\nHost: ${host}\r\n${headers(80)}\r\n`, env.witness);
    expect(many.statuses[0]).toBe(431);
    expect(upstreamSaw(env.plain, '/many-headers')).toEqual([]);
    const ok = await rawToSluice(env.s.port, `GET http://${host}/cap-headers HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${headers(47)}\r\n`, env.witness);
    expect(ok.statuses[0]).toBe(200);
  });
});

describe('decompression bombs and endless streams', () => {
  it('request side: a gzip bomb (200 MiB of zeros) is refused, not forwarded decoded or unscanned', async () => {
    const bomb = `bomb.allowed.test:${env.plain.port}`;
    const head = `POST http://${bomb}/req-bomb HTTP/1.1\r\nHost: ${bomb}\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: ${BOMB.length}\r\nConnection: close\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [Buffer.from(head), BOMB], env.witness, { waitMs: 15000 });
    expect(r.statuses[0]).toBeGreaterThanOrEqual(400);
    expect(r.statuses[0]).toBeLessThan(500);
    expect(upstreamSaw(env.plain, '/req-bomb')).toEqual([]);
  });

  it('response side: a gzip bomb is cut at the decode limit (the agent never receives 200 MiB)', async () => {
    const bomb = `bomb.allowed.test:${env.plain.port}`;
    const socket = net.connect(env.s.port, '127.0.0.1');
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    let head = '';
    socket.once('data', (d: Buffer) => (head = d.toString('latin1', 0, 12)));
    socket.write(`GET http://${bomb}/bomb HTTP/1.1\r\nHost: ${bomb}\r\nConnection: close\r\n\r\n`);
    await new Promise((r) => socket.once('close', r));
    expect(upstreamSaw(env.plain, '/bomb').length, 'the upstream was reached').toBe(1);
    expect(head).toMatch(/^HTTP\/1\.1 \d{3}/);
    expect(received).toBeLessThan(8 * MiB);
    const line = await eventually(() => env.s.audit().find((l) => String(l['path']) === '/bomb'));
    expect(line['decision']).not.toBe('allow');
  });

  it('more than a few stacked Content-Encodings are refused rather than decoded (CVE-2022-32206 class)', async () => {
    const r = await rawToSluice(env.s.port, `GET http://${host}/stacked HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, env.witness);
    expect(r.text).not.toContain('stacked encodings');
  });

  it.each([
    ['/endless-direct', true],
    ['/endless-binary', false],
    ['/endless-text', false],
  ])('an endless response stream (%s) is torn down upstream when the agent goes away (direct = control without Sluice)', async (path, direct) => {
    const socket = net.connect(direct ? env.plain.port : env.s.port, '127.0.0.1');
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received > 4 * MiB) resolve();
      });
      socket.write(`GET ${direct ? '' : `http://${host}`}${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    });
    socket.destroy();
    await eventually(() => endlessClosed.has(path), 5000);
  });
});

describe('certificate cache pressure and floods', () => {
  it('20 CONNECTs to distinct allowed names: each gets its exact leaf, and the cache stays at its bound (4)', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `n${i}.wild.test`;
      const c = await rawExchange(env.s.port, connectRequest(`${name}:${env.secure.port}`));
      expect(c.status).toBe(200);
      const t = await tlsOver(c.socket, name, env.s.caPem);
      expect(t.getPeerCertificate().subjectaltname).toBe(`DNS:${name}`);
      t.destroy();
    }
    expect(await metric('sluice_leaf_cache_size')).toBeLessThanOrEqual(4);
    expect(await metric('sluice_leaf_certificates_minted_total')).toBeGreaterThanOrEqual(20);
  });

  it('CONNECTs to 50 distinct denied names mint nothing', async () => {
    const before = await metric('sluice_leaf_certificates_minted_total');
    for (let i = 0; i < 50; i++) {
      const c = await rawExchange(env.s.port, connectRequest(`n${i}.notwild.test:${env.secure.port}`));
      c.socket.destroy();
      expect(c.status).toBe(403);
    }
    expect(await metric('sluice_leaf_certificates_minted_total')).toBe(before);
  });

  it('a WebSocket flood of 5000 frames to an echo upstream is relayed without loss while control requests work', async () => {
    const ws = `ws.allowed.test:${env.plain.port}`;
    const socket = net.connect(env.s.port, '127.0.0.1');
    const up = await exchangeOn(socket, [`GET http://${ws}/flood HTTP/1.1\r\nHost: ${ws}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`], env.witness, { waitMs: 3000 });
    expect(up.statuses[0]).toBe(101);
    const frames: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const payload = Buffer.from(`frame-${i}`);
      const mask = crypto.randomBytes(4);
      const masked = Buffer.from(payload.map((b, j) => b ^ mask[j % 4]!));
      frames.push(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    }
    let echoed = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (echoed = Buffer.concat([echoed, d])));
    socket.write(Buffer.concat(frames));
    expect(await env.control()).toBe(200);
    await eventually(() => echoed.toString('latin1').includes('frame-4999'), 10000);
    expect((echoed.toString('latin1').match(/frame-\d+/g) ?? []).length).toBe(5000);
    socket.destroy();
  });
});
