// The upstream-to-client half of a blind tunnel, read into a few reused buffers instead of a fresh 64 KiB
// buffer per read. Why: every fresh buffer is external memory to V8, and a bulk download allocates it at the
// line rate; V8 answers with a full mark of the heap about every 100 ms (12-19 per 100 MiB, --trace-gc), which
// was about half of the tunnel's CPU in a perf profile. Reused buffers allocate nothing per read.
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** One read's worth; libuv fills it up to its length. */
const READ_BYTES = 64 * 1024;
/** Buffers kept for reuse; more are only in flight while the client's socket is slow, and then reads pause. */
const POOL_LIMIT = 4;
/**
 * Smaller reads are copied out and their buffer reused at once. A queued write under the socket's 16 KiB
 * high-water mark does not pause reading, so without the copy an upstream that trickles bytes to a stalled
 * client would pin a 64 KiB buffer per byte; with it, at most three buffers of 8 KiB or more are in flight.
 */
const COPY_BELOW = 8 * 1024;
/**
 * Bytes kept from an upstream that speaks before the relay starts (while Sluice still waits for the client's
 * ClientHello, up to 15 s): beyond this, reading pauses until the relay resumes it, so a hostile upstream
 * cannot fill Sluice's memory in that time.
 */
const EARLY_LIMIT = 64 * 1024;

export interface PooledReader {
  /** Pass to net.connect. */
  readonly onread: net.OnReadOpts;
  /** Start relaying every read into `to`; reads that arrived before are relayed first. */
  relayInto(from: net.Socket, to: Duplex, done: (err: Error | null) => void): void;
  /** Read buffers made so far: a handful per tunnel, whatever it carries. */
  buffersMade(): number;
  /** Bytes read before relayInto and kept for it (at most EARLY_LIMIT plus one read). */
  heldEarly(): number;
}

const noop = (): void => {};

export function pooledReader(): PooledReader {
  const free: Buffer[] = [];
  let deliver: ((chunk: Buffer, release: () => void) => boolean) | null = null;
  const early: Buffer[] = [];
  let earlyBytes = 0;
  let made = 0;
  const take = (): Buffer => {
    const reused = free.pop();
    if (reused !== undefined) return reused;
    made++;
    return Buffer.allocUnsafeSlow(READ_BYTES);
  };
  const giveBack = (buf: Buffer) => {
    if (free.length < POOL_LIMIT) free.push(buf);
  };

  const onread: net.OnReadOpts = {
    // Node asks for the next buffer after every read, while the last one may still be queued for writing.
    buffer: take,
    callback(bytes, buf) {
      const b = buf as Buffer;
      if (deliver === null) {
        // Nothing reads before relayInto in a TLS tunnel (the client speaks first), but never lose bytes.
        early.push(Buffer.from(b.subarray(0, bytes)));
        earlyBytes += bytes;
        giveBack(b);
        return earlyBytes < EARLY_LIMIT;
      }
      if (bytes < COPY_BELOW) {
        const copy = Buffer.from(b.subarray(0, bytes));
        giveBack(b);
        return deliver(copy, noop);
      }
      return deliver(b.subarray(0, bytes), () => giveBack(b));
    },
  };

  return {
    onread,
    buffersMade: () => made,
    heldEarly: () => earlyBytes,
    relayInto(from, to, done) {
      let settled = false;
      const finish = (err: Error | null) => {
        if (settled) return;
        settled = true;
        done(err);
      };
      // A false return pauses reading (net's onread contract) until the client's socket drains.
      deliver = (chunk, release) => {
        if (to.destroyed) {
          release();
          return false;
        }
        return to.write(chunk, release);
      };
      to.on('drain', () => from.resume());
      for (const chunk of early.splice(0)) to.write(chunk);
      earlyBytes = 0;
      // With onread the socket emits no 'data', but 'end' needs it flowing.
      from.resume();
      from.once('end', () => to.end());
      to.once('finish', () => finish(null));
      from.once('error', (e) => finish(e));
      to.once('error', (e) => finish(e));
      from.once('close', () => {
        if (!from.readableEnded) finish(new Error('the upstream closed the tunnel without ending it'));
      });
      to.once('close', () => {
        if (!to.writableFinished) finish(new Error('the client closed the tunnel'));
      });
    },
  };
}
