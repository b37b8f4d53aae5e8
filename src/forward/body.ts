// Request bodies: run the guard and the placeholder substitution as a stream, and do not start the upstream
// request until the first scanned bytes exist. A small body is then complete (the guard holds it whole), so a
// block is a clean 403 before any byte leaves; a large one streams, and a late block aborts the upstream.
import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import type { IncomingMessage } from 'node:http';

export interface PreparedBody {
  /** The body to send: a Buffer when complete (sent with Content-Length), a stream otherwise (chunked). */
  readonly body: Buffer | Readable | null;
  /** Set when the body was rewritten and Content-Encoding must be dropped. */
  readonly decoded: boolean;
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * Chain the transforms after the agent's body and wait for the first output (or the end, or an error such as
 * GuardBlockedError, which rejects). Returns the complete Buffer when everything was already produced.
 */
export async function firstScannedBytes(source: Readable, transforms: readonly Transform[]): Promise<Buffer | Readable> {
  const last = transforms.length > 0 ? transforms[transforms.length - 1]! : new PassThrough();
  const streams = transforms.length > 0 ? transforms : [last];
  pipeline([source, ...streams] as unknown as [Readable, Transform], () => undefined);
  const iterator = last[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return Buffer.alloc(0);
  const chunks: Buffer[] = [toBuffer(first.value)];
  // Flush has run and everything is buffered: read the rest without waiting and send with a Content-Length.
  if (last.writableFinished) {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return Buffer.concat(chunks);
      chunks.push(toBuffer(next.value));
    }
  }
  return Readable.from(
    (async function* rest() {
      try {
        yield* chunks;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield toBuffer(next.value);
        }
      } finally {
        // The upstream request ended early (refused, reset): stop reading the agent's body through the filters.
        await iterator.return?.();
      }
    })(),
    { objectMode: false },
  );
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v as string);
}
