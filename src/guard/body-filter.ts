// The request body filter: Content-Encoding layers are undone with a cap, the charset is decoded, and the
// text goes through the body scanner; what comes out is identity-encoded and already scanned. A block
// finding, an over-cap body or undecodable data makes the stream fail with GuardBlockedError, so forward/
// aborts the upstream request and answers 403.
import { pipeline, Transform, Writable } from 'node:stream';
import { GuardBlockedError, SluiceError } from '../errors.ts';
import { resolveFindings } from './apply.ts';
import { bodyFormat, decoderFor, parseContentType, planEncoding, textCodec, type TextCodec } from './decode.ts';
import { classify } from './response/content-kind.ts';
import type { AuditFinding, BodyFilter, Finding, GuardReport, GuardStage, ScanContext } from './types.ts';
import { blockedError, createBodyScanner, type BodyScanner } from './window.ts';

export const DEFAULT_WINDOW_SIZE = 64 * 1024;

export interface BodyFilterOptions {
  readonly stages: readonly GuardStage[];
  readonly ctx: ScanContext;
  readonly contentType: string;
  readonly contentEncoding: string;
  readonly windowSize?: number;
}

function decodeFinding(rule: string, kind: string): Finding {
  return { rule, kind, severity: 'critical', span: [0, 0], action: 'block' };
}

export function reportOf(findings: readonly Finding[], location: AuditFinding['location']): GuardReport {
  const verdict = findings.some((f) => f.action === 'block') ? 'block' : findings.some((f) => f.action === 'redact') ? 'redact' : 'pass';
  return { verdict, findings: findings.map((f) => ({ rule: f.rule, kind: f.kind, location, action: f.action })) };
}

interface FilterState {
  readonly scanner: BodyScanner;
  readonly codec: TextCodec;
  readonly extra: Finding[];
  /** Byte domain: the input bytes not emitted yet, sent as they came where nothing in them was redacted. */
  readonly input: ByteQueue | null;
}

interface ByteQueue {
  readonly chunks: Buffer[];
  /** Offset in the body of chunks[0][0]. */
  start: number;
}

/** Remove and return the queued bytes before body offset `upTo` (views of the input, not copies). */
function takeBytes(q: ByteQueue, upTo: number): Buffer[] {
  const out: Buffer[] = [];
  while (q.start < upTo && q.chunks.length > 0) {
    const head = q.chunks[0]!;
    const n = Math.min(head.length, upTo - q.start);
    out.push(n === head.length ? head : head.subarray(0, n));
    if (n === head.length) q.chunks.shift();
    else q.chunks[0] = head.subarray(n);
    q.start += n;
  }
  return out;
}

/** Decode and scan one input chunk (null: end of body); returns what may be sent on. */
function scanChunk(state: FilterState, chunk: Buffer | null): Buffer[] {
  const { scanner, codec, input } = state;
  if (chunk !== null && chunk.length > 0) input?.chunks.push(chunk);
  let text = scanner.push(codec.decode(chunk ?? Buffer.alloc(0), chunk === null));
  let raw = scanner.lastWasRaw();
  if (chunk === null) {
    text += scanner.finish();
    raw &&= scanner.lastWasRaw();
  }
  if (input === null) return text.length > 0 ? [codec.encode(text)] : [];
  // Re-encoding would give the same bytes: send the input itself, without a copy.
  const bytes = takeBytes(input, scanner.emittedRaw());
  return raw ? bytes : text.length > 0 ? [codec.encode(text)] : [];
}

function failWith(state: FilterState, finding: Finding): GuardBlockedError {
  state.extra.push(finding);
  return blockedError([finding]);
}

/** The stream that undoes Content-Encoding layers, counting decoded bytes against the cap. */
function decodingTransform(state: FilterState, layers: readonly string[], maxDecoded: number): Transform {
  let head: Transform | null = null;
  let decoded = 0;
  let waiting: (() => void) | null = null;
  let flushed: ((err?: Error | null) => void) | null = null;
  const emit = (chunks: readonly Buffer[], out: Transform): boolean => chunks.reduce((ok, c) => out.push(c) && ok, true);

  const out: Transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (head === null) head = buildChain(chunk[0] ?? null);
      if (head.write(chunk)) cb();
      else head.once('drain', () => cb());
    },
    flush(cb) {
      if (head === null) return finish(cb);
      flushed = cb;
      head.end();
    },
  });
  const finish = (cb: (err?: Error | null) => void) => {
    try {
      emit(scanChunk(state, null), out);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  };
  // Honour the reader's backpressure: decoded output waits until forward/ reads, so memory stays bounded.
  const read = out._read.bind(out);
  out._read = (n: number) => {
    const w = waiting;
    waiting = null;
    w?.();
    read(n);
  };

  function buildChain(firstByte: number | null): Transform {
    const decoders = layers.map((l, i) => decoderFor(l, i === 0 ? firstByte : null));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        decoded += chunk.length;
        if (decoded > maxDecoded) return cb(failWith(state, decodeFinding('decode/too-large', 'decompression_bomb')));
        try {
          if (emit(scanChunk(state, chunk), out)) cb();
          else waiting = () => cb();
        } catch (e) {
          cb(e as Error);
        }
      },
    });
    pipeline([...decoders, sink] as unknown as [Transform, Writable], (err) => {
      if (err) {
        const e = err instanceof SluiceError ? err : failWith(state, decodeFinding('decode/error', 'undecodable'));
        if (flushed) flushed(e);
        else out.destroy(e);
        return;
      }
      if (flushed) finish(flushed);
    });
    return decoders[0]!;
  }
  return out;
}

function plainTransform(state: FilterState): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        for (const b of scanChunk(state, chunk)) this.push(b);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      try {
        for (const b of scanChunk(state, null)) this.push(b);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

function refusingTransform(state: FilterState, finding: Finding): Transform {
  const fail = (cb: (e: Error) => void) => cb(failWith(state, finding));
  return new Transform({ transform: (_c, _e, cb) => fail(cb), flush: (cb) => fail(cb) });
}

export function createRequestBodyFilter(o: BodyFilterOptions): BodyFilter {
  const settings = o.ctx.settings;
  const plan = planEncoding(o.contentEncoding);
  const ct = parseContentType(o.contentType);
  const passthrough = plan.kind === 'unknown' && settings.allowUnknownEncoding;
  const codec = textCodec(passthrough ? null : ct.charset);
  const scanner = createBodyScanner({
    stages: o.stages,
    ctx: o.ctx,
    format: passthrough ? 'text' : bodyFormat(ct.mime),
    maxBuffered: settings.maxBufferedBytes,
    windowSize: o.windowSize ?? DEFAULT_WINDOW_SIZE,
    byteDomain: codec.byteDomain,
    binary: passthrough || classify(ct.mime).kind === 'binary',
  });
  const state: FilterState = { scanner, codec, extra: [], input: codec.byteDomain ? { chunks: [], start: 0 } : null };
  let stream: Transform;
  if (plan.kind === 'decode') stream = decodingTransform(state, plan.layers, settings.maxDecodedBytes);
  else if (plan.kind === 'identity' || passthrough) stream = plainTransform(state);
  else if (plan.kind === 'unknown') stream = refusingTransform(state, decodeFinding('decode/unknown-encoding', 'undecodable'));
  else stream = refusingTransform(state, decodeFinding('decode/too-many-encodings', 'undecodable'));
  const all = () => resolveFindings([...state.extra, ...scanner.findings()]);
  const filter: BodyFilter = {
    stream,
    outputEncoding: passthrough ? o.contentEncoding : 'identity',
    report: () => reportOf(all(), 'body'),
    findings: all,
  };
  return codec.outputCharset ? { ...filter, outputCharset: codec.outputCharset } : filter;
}
