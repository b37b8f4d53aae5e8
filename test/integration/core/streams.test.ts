// Large bodies stream through with backpressure and arrive intact; WebSocket upgrades are relayed for allowed hosts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ProxyAgent, request, WebSocket } from 'undici';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { attachWebSocketEcho } from '../../helpers/websocket.ts';
import { viaProxy } from '../../helpers/clients.ts';

const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes generated as a stream (never the whole body in memory). */
function patternStream(total: number, seed: string): { stream: Readable; digest: () => string } {
  const hash = crypto.createHash('sha256');
  let sent = 0;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const block = crypto.createHash('sha512').update(`${seed}:${counter++}`).digest();
      const chunk = Buffer.concat(Array.from({ length: 1024 }, () => block)).subarray(0, Math.min(64 * 1024, total - sent));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('streams and upgrades', () => {
  let ca: ReturnType<typeof makeTestCa>;
  let big: TestUpstream;
  let ws: TestUpstream;
  let s: TestSluice;
  const wsSeen: { headers: Record<string, unknown> }[] = [];
  let downloadDigest = '';

  beforeAll(async () => {
    ca = makeTestCa();
    big = await startUpstream({
      tls: ca.issue(['big.allowed.test']),
      stream: true,
      handler: (req, res) => {
        if (req.method === 'GET') {
          const p = patternStream(100 * MiB, 'download');
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(100 * MiB) });
          p.stream.pipe(res);
          p.stream.on('end', () => (downloadDigest = p.digest()));
          return;
        }
        const h = crypto.createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.end(JSON.stringify({ sha256: h.digest('hex'), bytes: n })));
      },
    });
    ws = await startUpstream({ tls: ca.issue(['ws.allowed.test']) });
    const secretsFile = path.join(ca.dir, 'secrets.env');
    fs.writeFileSync(secretsFile, 'BIG_TOKEN=big-token-value-0123456789abcdef\n');
    attachWebSocketEcho(ws.server, wsSeen as never);
    s = await startTestSluice({
      names: ['big.allowed.test', 'ws.allowed.test', 'nows.allowed.test', 'api.cred.test'],
      config: { secrets: [{ type: 'file', path: secretsFile }] },
      trustCa: [ca.caPath],
      policy: {
        hosts: [
          { host: 'big.allowed.test', ports: [big.port], guard: { request: 'off', response: 'off' } },
          { host: 'api.cred.test', ports: [big.port], credential: { secret: 'BIG_TOKEN' } },
          { host: 'ws.allowed.test', ports: [ws.port], websocket: true },
          { host: 'nows.allowed.test', ports: [ws.port] },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await big?.close();
    await ws?.close();
  });

  it('downloads 100 MiB through interception with the checksum intact', async () => {
    const dispatcher = new ProxyAgent({ uri: s.proxyUrl, requestTls: { ca: s.caPem } });
    const res = await request(`https://big.allowed.test:${big.port}/download`, { dispatcher });
    const h = crypto.createHash('sha256');
    let n = 0;
    for await (const chunk of res.body) {
      h.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    await dispatcher.close();
    expect(n).toBe(100 * MiB);
    expect(h.digest('hex')).toBe(downloadDigest);
  });

  it('uploads 50 MiB through interception with the checksum intact', async () => {
    const dispatcher = new ProxyAgent({ uri: s.proxyUrl, requestTls: { ca: s.caPem } });
    const p = patternStream(50 * MiB, 'upload');
    const res = await request(`https://big.allowed.test:${big.port}/upload`, { method: 'POST', body: p.stream, dispatcher });
    const answer = (await res.body.json()) as { sha256: string; bytes: number };
    await dispatcher.close();
    expect(answer.bytes).toBe(50 * MiB);
    expect(answer.sha256).toBe(p.digest());
  });

  it('relays a WebSocket echo to an allowed host inside an intercepted tunnel', async () => {
    const dispatcher = new ProxyAgent({ uri: s.proxyUrl, requestTls: { ca: s.caPem } });
    const sock = new WebSocket(`wss://ws.allowed.test:${ws.port}/echo`, { dispatcher } as never);
    const echoed = await new Promise<string>((resolve, reject) => {
      sock.onopen = () => sock.send('hello through sluice');
      sock.onmessage = (e) => resolve(String(e.data));
      sock.onerror = () => reject(new Error('websocket error'));
    });
    sock.close();
    await dispatcher.close();
    expect(echoed).toBe('hello through sluice');
  });

  it('refuses a WebSocket upgrade to a host whose entry does not allow websockets (near miss: same upstream)', async () => {
    const before = wsSeen.length;
    const dispatcher = new ProxyAgent({ uri: s.proxyUrl, requestTls: { ca: s.caPem } });
    const sock = new WebSocket(`wss://nows.allowed.test:${ws.port}/echo`, { dispatcher } as never);
    const outcome = await new Promise<string>((resolve) => {
      sock.onopen = () => resolve('open');
      sock.onerror = () => resolve('error');
    });
    await dispatcher.close();
    expect(outcome).toBe('error');
    expect(wsSeen.length).toBe(before);
  });

  it('blocks a WebSocket upgrade that carries another host\'s placeholder in its URL (the guard runs on upgrades too)', async () => {
    const before = wsSeen.length;
    const dispatcher = new ProxyAgent({ uri: s.proxyUrl, requestTls: { ca: s.caPem } });
    const sock = new WebSocket(`wss://ws.allowed.test:${ws.port}/echo?key=sluice:BIG_TOKEN`, { dispatcher } as never);
    const outcome = await new Promise<string>((resolve) => {
      sock.onopen = () => resolve('open');
      sock.onerror = () => resolve('error');
    });
    await dispatcher.close();
    expect(outcome).toBe('error');
    expect(wsSeen.length).toBe(before);
    const line = await eventually(() => s.audit().find((l) => l['host'] === 'ws.allowed.test' && l['decision'] === 'block'));
    expect(JSON.stringify(line?.['findings'])).toContain('BIG_TOKEN');
  });

  it('refuses a plain-HTTP WebSocket upgrade to a denied host with 403', async () => {
    const res = await viaProxy(s.port, 'GET', 'http://denied.test/ws', { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
    expect(res.status).toBe(403);
  });
});
