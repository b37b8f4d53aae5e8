// The response body Transform: raw upstream bytes in, cleaned identity bytes out. Decoding (bounded),
// charset (streaming TextDecoder: a multi-byte character split across chunks stays whole), the content
// handler, the text stream and the report all live here; one instance per response, no shared state.
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

export interface FilterParts {
  readonly kind: BodyKind;
  readonly charset: string;
  readonly codings: readonly string[];
  readonly maxDecodedBytes: number;
  /** Built once the Transform exists (the text stream emits into it). */
  readonly build: (sink: FindingSink, emit: (s: string) => void) => { handler: ContentHandler; stream: TextStream };
  readonly prefix: string;
  readonly suffix: string;
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

export class ResponseTransform extends Transform {
  readonly sink = new FindingSink();
  bytesOut = 0;
  private readonly parts: FilterParts;
  private readonly decoder: BoundedDecoder | null;
  private readonly textDecoder: TextDecoder;
  private readonly handler: ContentHandler;
  private started = false;

  constructor(parts: FilterParts) {
    super();
    this.parts = parts;
    const binary = parts.kind === 'binary';
    this.textDecoder = new TextDecoder(binary ? 'latin1' : parts.charset);
    const built = parts.build(this.sink, (s) => this.emitText(s));
    this.handler = built.handler;
    this.decoder = parts.codings.length > 0 ? createBoundedDecoder(parts.codings, parts.maxDecodedBytes, (b) => this.onDecoded(b)) : null;
  }

  private emitText(s: string): void {
    if (!this.started) {
      this.started = true;
      if (this.parts.prefix.length > 0) s = this.parts.prefix + s;
    }
    if (s.length === 0) return;
    const buf = Buffer.from(s, this.parts.kind === 'binary' ? 'latin1' : 'utf8');
    this.bytesOut += buf.length;
    this.push(buf);
  }

  private onDecoded(b: Buffer): void {
    const text = this.parts.kind === 'binary' ? b.toString('latin1') : this.textDecoder.decode(b, { stream: true });
    if (text.length > 0) this.handler.write(text);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.decoder) this.decoder.write(chunk, (err) => cb(err ?? null));
      else {
        this.onDecoded(chunk);
        cb();
      }
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    const finish = (): void => {
      try {
        if (this.parts.kind !== 'binary') {
          const tail = this.textDecoder.decode();
          if (tail.length > 0) this.handler.write(tail);
        }
        this.handler.end();
        if (!this.started) this.emitText('');
        if (this.parts.suffix.length > 0) this.emitText(this.parts.suffix);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    };
    if (this.decoder) this.decoder.end((err) => (err ? cb(err) : finish()));
    else finish();
  }
}

export function isBlocked(e: unknown): e is GuardBlockedError {
  return e instanceof GuardBlockedError;
}
