// Bounded Content-Encoding decoding (RFC 9110 §8.4). Every decoder's output is counted and capped
// (decompression bombs: Node fetch CVE-2024-22025, Envoy CVE-2022-29225); over the cap, or on an unknown or
// too deeply stacked coding, decoding fails closed with GuardBlockedError.
import { pipeline, Writable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createZstdDecompress } from 'node:zlib';
import { GuardBlockedError } from '../../errors.ts';

const MAX_CODINGS = 3;

/** Content-Encoding header values -> codings in the order they were applied (identity dropped). */
export function parseContentEncoding(headers: ReadonlyArray<readonly [string, string]>): string[] {
  const codings: string[] = [];
  for (const [k, v] of headers) {
    if (k.toLowerCase() !== 'content-encoding') continue;
    for (const c of v.split(',')) {
      const t = c.trim().toLowerCase();
      if (t !== '' && t !== 'identity') codings.push(t);
    }
  }
  return codings;
}

function decoderFor(coding: string): Transform {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    case 'zstd':
      return createZstdDecompress();
    default:
      throw new GuardBlockedError(`The response uses a content encoding Sluice cannot inspect (${coding.slice(0, 32)}).`, [{ rule: 'response/unknown-encoding', kind: 'encoding' }]);
  }
}

export interface BoundedDecoder {
  /** Write compressed bytes; cb once they are taken. */
  write(chunk: Buffer, cb: (err?: Error | null) => void): void;
  /** End of input; cb after every decoded byte was delivered (or with the error). */
  end(cb: (err?: Error | null) => void): void;
}

/**
 * Decode `codings` (applied in order, so undone in reverse), delivering decoded bytes to `onData`, which may
 * throw to stop. More than `maxBytes` decoded bytes is an error.
 */
export function createBoundedDecoder(codings: readonly string[], maxBytes: number, onData: (b: Buffer) => void): BoundedDecoder {
  if (codings.length > MAX_CODINGS) {
    throw new GuardBlockedError('The response stacks too many content encodings to inspect.', [{ rule: 'response/stacked-encodings', kind: 'encoding' }]);
  }
  const stages = [...codings].reverse().map(decoderFor);
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxBytes) {
        cb(new GuardBlockedError('The decompressed response is larger than the guard may inspect (possible decompression bomb).', [{ rule: 'response/decoded-too-large', kind: 'limit' }]));
        return;
      }
      try {
        onData(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  let failure: Error | null = null;
  let done: ((err?: Error | null) => void) | null = null;
  let finished = false;
  let waiting: ((err?: Error | null) => void) | null = null;
  pipeline([...stages, sink] as [Transform, ...Transform[], Writable], (err) => {
    finished = true;
    failure = err ? asBlocked(err) : null;
    if (waiting) waiting(failure);
    waiting = null;
    if (done) done(failure);
  });
  const head = stages[0]!;
  return {
    write(chunk, cb) {
      if (failure) return cb(failure);
      if (head.write(chunk)) return cb();
      waiting = cb;
      head.once('drain', () => {
        const w = waiting;
        waiting = null;
        if (w) w(failure);
      });
    },
    end(cb) {
      if (finished) return cb(failure);
      done = cb;
      head.end();
    },
  };
}

function asBlocked(err: Error): Error {
  if (err instanceof GuardBlockedError) return err;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return new GuardBlockedError('The response body is not validly encoded as its Content-Encoding says.', [{ rule: 'response/bad-encoding', kind: 'encoding' }], { cause: err });
  }
  return err;
}
