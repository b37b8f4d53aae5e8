// The request body filter: Content-Encoding layers are undone with a cap, the charset is decoded, and the
// text goes through the body scanner; what comes out is identity-encoded and already scanned. A block
// finding, an over-cap body or undecodable data makes the stream fail with GuardBlockedError, so forward/
// aborts the upstream request and answers 403.
import { pipeline, Transform, Writable } from 'node:stream';
import { GuardBlockedError, SluiceError } from '../errors.ts';
import { resolveFindings } from './apply.ts';
import { bodyFormat, decoderFor, parseContentType, planEncoding, textCodec, type TextCodec } from './decode.ts';
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
  const emit = (text: string, out: Transform): boolean => (text.length > 0 ? out.push(state.codec.encode(text)) : true);

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
      emit(state.scanner.push(state.codec.decode(Buffer.alloc(0), true)), out);
      emit(state.scanner.finish(), out);
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
          if (emit(state.scanner.push(state.codec.decode(chunk, false)), out)) cb();
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
        const text = state.scanner.push(state.codec.decode(chunk, false));
        cb(null, text.length > 0 ? state.codec.encode(text) : undefined);
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      try {
        const tail = state.scanner.push(state.codec.decode(Buffer.alloc(0), true)) + state.scanner.finish();
        cb(null, tail.length > 0 ? state.codec.encode(tail) : undefined);
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
  });
  const state: FilterState = { scanner, codec, extra: [] };
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
