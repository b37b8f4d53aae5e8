// The response body filter: raw upstream bytes in, cleaned identity bytes out. Decoding (bounded), charset
// (streaming TextDecoder: a multi-byte character split across chunks stays whole), the content handler, the
// text stream and the report all live here; one instance per response, no shared state.
import { Transform, type TransformCallback } from 'node:stream';
import { TextDecoder } from 'node:util';
import { GuardBlockedError } from '../../errors.ts';
import type { AuditFinding, Finding, GuardReport } from '../types.ts';
import { createBoundedDecoder, type BoundedDecoder } from './body-decoder.ts';
import type { BodyKind } from './content-kind.ts';
import type { TextStream } from './text-stream.ts';

export interface ContentHandler {
  write(text: string): void;
  end(): void;
}

export interface BuiltHandler {
  readonly handler: ContentHandler;
  /** Written before the first and after the last output byte (annotate markers around a whole text body). */
  readonly prefix: string;
  readonly suffix: string;
}

export interface FilterParts {
  /** 'sniff': no usable Content-Type; the first decoded bytes decide between text and binary. */
  readonly kind: BodyKind | 'sniff';
  readonly charset: string;
  readonly codings: readonly string[];
  readonly maxDecodedBytes: number;
  /** Built once the body kind is known (the text stream emits into the cleaner's output). */
  readonly build: (sink: FindingSink, emit: (s: string) => void, kind: BodyKind) => BuiltHandler;
}

/** Bytes looked at to decide whether an unlabelled body is text. */
export const SNIFF_BYTES = 1024;

/** Valid UTF-8 (a sequence cut at the end is fine) and no NUL: what every text format looks like. */
export function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const MAX_KEPT_FINDINGS = 500;
const PLAIN_PIECE = 64 * 1024;

export class FindingSink {
  readonly kept: Finding[] = [];
  total = 0;
  blocked = false;
  redacted = false;
  readonly bySeverity: Record<string, number> = { low: 0, medium: 0, high: 0, critical: 0 };

  record(f: Finding): void {
    this.total++;
    this.bySeverity[f.severity] = (this.bySeverity[f.severity] ?? 0) + 1;
    if (f.action === 'redact') this.redacted = true;
    if (f.action === 'block') this.blocked = true;
    if (this.kept.length < MAX_KEPT_FINDINGS) this.kept.push(f);
  }

  report(): GuardReport {
    const seen = new Map<string, AuditFinding>();
    for (const f of this.kept) {
      const key = `${f.rule}\u0000${f.kind}\u0000${f.action}`;
      if (!seen.has(key)) seen.set(key, { rule: f.rule, kind: f.kind, location: 'body', action: f.action });
    }
    return { verdict: this.blocked ? 'block' : this.redacted ? 'redact' : 'pass', findings: [...seen.values()] };
  }
}

/** Plain text and markdown: pieces of text, no markup. */
export function plainHandler(stream: TextStream): ContentHandler {
  const identity = (t: string): string => t;
  return {
    write(text) {
      for (let i = 0; i < text.length; i += PLAIN_PIECE) {
        const piece = text.slice(i, i + PLAIN_PIECE);
        stream.text(piece, piece, identity);
      }
    },
    end() {
      stream.flush();
    },
  };
}

/**
 * Everything a response filter does except being a stream: decode, clean, collect findings. A small body goes
 * through cleanWhole and never pays for a Transform (constructing one was 1.8% of Sluice's CPU per small GET in
 * bench/results/profiles/sluice-full.cpuprofile); a streamed body gets a ResponseTransform around the same cleaner.
 */
export class ResponseCleaner {
  readonly sink = new FindingSink();
  bytesOut = 0;
  private readonly parts: FilterParts;
  private readonly decoder: BoundedDecoder | null;
  private textDecoder: TextDecoder | null = null;
  private built: BuiltHandler | null = null;
  private resolved: BodyKind | null = null;
  private sniffed: Buffer[] = [];
  private sniffedBytes = 0;
  private started = false;
  private output: ((buf: Buffer) => void) | null = null;
  /** Set while cleanWhole runs: output is collected here instead of handed to the stream. */
  private collected: Buffer[] | null = null;
  /** A cleaner has one consumer: the Transform (streamTo) or one cleanWhole call. */
  private claimed = false;

  constructor(parts: FilterParts) {
    this.parts = parts;
    if (parts.kind !== 'sniff') this.setUp(parts.kind);
    this.decoder = parts.codings.length > 0 ? createBoundedDecoder(parts.codings, parts.maxDecodedBytes, (b) => this.onDecoded(b)) : null;
  }

  /** No Content-Encoding to undo: cleanWhole may be used. */
  get identityCoded(): boolean {
    return this.decoder === null;
  }

  /** The body kind, once known (an unlabelled body is sniffed from its first bytes). */
  get kind(): BodyKind | null {
    return this.resolved;
  }

  /** Where streamed output goes (the Transform's push); set once, before the first write. */
  streamTo(output: (buf: Buffer) => void): void {
    this.claim();
    this.output = output;
  }

  private claim(): void {
    if (this.claimed) throw new Error('a response cleaner feeds one consumer');
    this.claimed = true;
  }

  private setUp(kind: BodyKind): BuiltHandler {
    this.resolved = kind;
    this.textDecoder = kind === 'binary' ? null : new TextDecoder(this.parts.charset);
    this.built = this.parts.build(this.sink, (s) => this.emitText(s), kind);
    return this.built;
  }

  private emitText(s: string): void {
    if (!this.started) {
      this.started = true;
      const prefix = this.built?.prefix ?? '';
      if (prefix.length > 0) s = prefix + s;
    }
    if (s.length === 0) return;
    const buf = Buffer.from(s, this.resolved === 'binary' ? 'latin1' : 'utf8');
    this.bytesOut += buf.length;
    if (this.collected !== null) this.collected.push(buf);
    else this.output?.(buf);
  }

  /** The whole body in one call (same steps as write then end, no stream); identity coding only, and only once. */
  cleanWhole(body: Buffer): Buffer {
    if (this.decoder !== null) throw new Error('cleanWhole needs an identity-coded body');
    this.claim();
    this.collected = [];
    try {
      this.onDecoded(body);
      this.finishBody();
      return Buffer.concat(this.collected);
    } finally {
      this.collected = null;
    }
  }

  /** One raw upstream chunk; done is called once it has been decoded and cleaned (or with the error). */
  write(chunk: Buffer, done: (err: Error | null) => void): void {
    try {
      if (this.decoder) this.decoder.write(chunk, (err) => done(err ?? null));
      else {
        this.onDecoded(chunk);
        done(null);
      }
    } catch (e) {
      done(e as Error);
    }
  }

  /** The end of the raw body: flushes the decoder and the content handler. */
  end(done: (err: Error | null) => void): void {
    const finish = (): void => {
      try {
        this.finishBody();
        done(null);
      } catch (e) {
        done(e as Error);
      }
    };
    if (this.decoder) this.decoder.end((err) => (err ? done(err) : finish()));
    else finish();
  }

  private finishBody(): void {
    if (this.built === null) this.decideKind();
    const built = this.built!;
    if (this.textDecoder !== null) {
      const tail = this.textDecoder.decode();
      if (tail.length > 0) built.handler.write(tail);
    }
    built.handler.end();
    if (!this.started) this.emitText('');
    if (built.suffix.length > 0) this.emitText(built.suffix);
  }

  private onDecoded(b: Buffer): void {
    if (this.built === null) {
      // Unlabelled: hold the first bytes until they say text or binary (THREATS 2.8: every content type).
      this.sniffed.push(b);
      this.sniffedBytes += b.length;
      if (this.sniffedBytes >= SNIFF_BYTES) this.decideKind();
      return;
    }
    const text = this.textDecoder === null ? b.toString('latin1') : this.textDecoder.decode(b, { stream: true });
    if (text.length > 0) this.built.handler.write(text);
  }

  private decideKind(): void {
    const head = Buffer.concat(this.sniffed);
    this.sniffed = [];
    this.setUp(looksLikeText(head.subarray(0, SNIFF_BYTES)) ? 'text' : 'binary');
    if (head.length > 0) this.onDecoded(head);
  }
}

/** The response body Transform: raw upstream bytes in, cleaned identity bytes out, through one ResponseCleaner. */
export class ResponseTransform extends Transform {
  private readonly cleaner: ResponseCleaner;

  constructor(cleaner: ResponseCleaner) {
    super();
    this.cleaner = cleaner;
    cleaner.streamTo((buf) => this.push(buf));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.cleaner.write(chunk, cb);
  }

  override _flush(cb: TransformCallback): void {
    this.cleaner.end(cb);
  }
}

export function isBlocked(e: unknown): e is GuardBlockedError {
  return e instanceof GuardBlockedError;
}
