// The tunnel's download half reads into reused buffers: a buffer must never be refilled while its bytes still
// wait to be written to a slow client, the bytes must arrive intact and in order, and the end and errors of
// either side must reach the other.
import crypto from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pooledReader } from '../../../src/net/pooled-relay.ts';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

interface Received {
  readonly sha: string;
  readonly bytes: number;
  readonly ended: boolean;
}

/** A client side that reads `slowly` (pausing after every read) so the relay's writes queue up behind it. */
function collect(socket: net.Socket, slowly: boolean, stallMs = 0): Promise<Received> {
  if (stallMs > 0) {
    socket.pause();
    setTimeout(() => socket.resume(), stallMs);
  }
  return new Promise((resolve) => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    let ended = false;
    socket.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      if (slowly && bytes % 7 < 3) {
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      }
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('close', () => resolve({ sha: hash.digest('hex'), bytes, ended }));
    socket.on('error', () => {});
  });
}

/** upstream --(pooled reads)--> relay --> sink; returns what the sink received and how the relay ended. */
async function relay(payload: Buffer, opts: { slowly: boolean; upstreamResets?: boolean; stallMs?: number }) {
  const upstreamPort = await listen((s) => {
    s.on('error', () => {});
    if (opts.upstreamResets) {
      // After the relay is in place (the test says so), half the payload, then a TCP reset.
      s.once('data', () => s.write(payload.subarray(0, payload.length >> 1), () => s.resetAndDestroy()));
      return;
    }
    s.end(payload);
  });
  let received!: Promise<Received>;
  const sinkPort = await listen((s) => {
    received = collect(s, opts.slowly, opts.stallMs);
  });
  const reader = pooledReader();
  const from = net.connect({ host: '127.0.0.1', port: upstreamPort, onread: reader.onread });
  const to = net.connect({ host: '127.0.0.1', port: sinkPort });
  await Promise.all([new Promise((r) => from.once('connect', r)), new Promise((r) => to.once('connect', r))]);
  const done = new Promise<Error | null>((resolve) =>
    reader.relayInto(from, to, (err) => {
      if (err) {
        from.destroy();
        to.destroy();
      }
      resolve(err);
    }),
  );
  if (opts.upstreamResets) from.write('go');
  const err = await done;
  if (!err) to.destroy();
  return { err, received: await received, buffersMade: reader.buffersMade() };
}

describe('pooled tunnel reads', () => {
  it('delivers 32 MiB intact to a client that reads slowly, with a handful of buffers instead of one per read', async () => {
    const payload = crypto.randomBytes(32 << 20);
    const r = await relay(payload, { slowly: true });
    expect(r.err).toBeNull();
    expect(r.received.bytes).toBe(payload.length);
    expect(r.received.sha).toBe(crypto.createHash('sha256').update(payload).digest('hex'));
    expect(r.received.ended).toBe(true);
    // 32 MiB is at least 512 reads of 64 KiB; a buffer refilled while still queued would have corrupted the hash.
    expect(r.buffersMade).toBeLessThanOrEqual(8);
  });

  it('tiny reads held by a client that is not taking bytes are neither overwritten nor each pinning a buffer', async () => {
    const reader = pooledReader();
    const drops = Array.from({ length: 300 }, (_, i) => Buffer.from(`drop ${String(i).padStart(4, '0')};`));
    const upstreamPort = await listen((s) => {
      let i = 0;
      const drip = setInterval(() => {
        s.write(drops[i++]!);
        if (i === drops.length) {
          clearInterval(drip);
          s.end();
        }
      }, 1);
    });
    // A full socket keeps each queued write's buffer and reads it when the kernel takes it; this client reads
    // every buffer only at the end, and its 16 KiB high-water mark is never reached, so reading never pauses.
    const held: Array<{ chunk: Buffer; done: () => void }> = [];
    const client = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        held.push({ chunk, done });
      },
    });
    const from = net.connect({ host: '127.0.0.1', port: upstreamPort, onread: reader.onread });
    await new Promise((r) => from.once('connect', r));
    const ended = new Promise<void>((resolve) => from.once('end', () => resolve()));
    reader.relayInto(from, client, () => {});
    await ended;
    // Only now take the bytes, as a socket whose kernel buffer frees up would: one write at a time.
    for (let k = 0; k < held.length; k++) {
      held[k]!.done();
      await new Promise((r) => setImmediate(r));
    }
    const received = Buffer.concat(held.map((h) => h.chunk)).toString();
    expect(received).toBe(Buffer.concat(drops).toString());
    expect(reader.buffersMade()).toBeLessThanOrEqual(2);
  });

  it('an upstream that floods before the relay starts is held to 64 KiB, and every byte is relayed afterwards', async () => {
    const payload = crypto.randomBytes(8 << 20);
    const upstreamPort = await listen((s) => {
      s.on('error', () => {});
      s.end(payload);
    });
    let received!: Promise<Received>;
    const sinkPort = await listen((s) => {
      received = collect(s, false);
    });
    const reader = pooledReader();
    const from = net.connect({ host: '127.0.0.1', port: upstreamPort, onread: reader.onread });
    await new Promise((r) => from.once('connect', r));
    // Sluice waits for the client's ClientHello here (up to 15 s) before it relays anything.
    await new Promise((r) => setTimeout(r, 300));
    expect(reader.heldEarly()).toBeGreaterThan(0);
    expect(reader.heldEarly()).toBeLessThanOrEqual(128 * 1024);
    const to = net.connect({ host: '127.0.0.1', port: sinkPort });
    await new Promise((r) => to.once('connect', r));
    const err = await new Promise<Error | null>((resolve) => reader.relayInto(from, to, resolve));
    to.destroy();
    expect(err).toBeNull();
    const r = await received;
    expect(r.bytes).toBe(payload.length);
    expect(r.sha).toBe(crypto.createHash('sha256').update(payload).digest('hex'));
  });

  it('delivers intact to a fast client too, and passes the upstream end on', async () => {
    const payload = crypto.randomBytes(8 << 20);
    const r = await relay(payload, { slowly: false });
    expect(r.err).toBeNull();
    expect(r.received.sha).toBe(crypto.createHash('sha256').update(payload).digest('hex'));
    expect(r.received.ended).toBe(true);
  });

  // The client then gets a truncated stream; inside a blind tunnel its TLS sees no close_notify and fails.
  it('an upstream that resets mid-transfer ends the relay with an error and the client gets only what came before', async () => {
    const payload = crypto.randomBytes(4 << 20);
    const r = await relay(payload, { slowly: false, upstreamResets: true });
    expect(r.err).toBeInstanceOf(Error);
    expect(r.received.bytes).toBeLessThan(payload.length);
    expect(r.received.bytes).toBeLessThanOrEqual(payload.length >> 1);
  });
});
