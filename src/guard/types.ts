// The guard's shapes. Stages are plain objects with a pure, synchronous scan(); the pipeline owns decoding,
// windows, precedence and redaction. forward/ talks to the guard only through the Guard interface below.
import type { Transform } from 'node:stream';
import type { Decision } from '../policy/types.ts';
import type { GuardSettings } from './settings.ts';

export type Direction = 'request' | 'response';
export type Location = 'body' | 'query' | 'path' | 'header' | 'host';
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Action = 'block' | 'redact' | 'log';

export interface ScanContext {
  readonly direction: Direction;
  readonly agent: string;
  readonly host: string;
  readonly contentType: string;
  readonly location: Location;
  readonly settings: GuardSettings;
  /** The secret name this exchange may carry (the matched entry's credential), or null. */
  readonly boundSecret: string | null;
}

export interface ScanInput {
  readonly text: string;
  /** Absolute offset of text[0] in the whole decoded stream (for absolute spans). */
  readonly offset: number;
  readonly ctx: ScanContext;
}

/** A finding never carries the matched text: only where it is. */
export interface Finding {
  readonly rule: string;
  readonly kind: string;
  readonly severity: Severity;
  /** Absolute [start, end) in the decoded stream. */
  readonly span: readonly [number, number];
  readonly action: Action;
  /** For redact: what replaces the span (default `[REDACTED:kind]`). */
  readonly replacement?: string;
}

export interface GuardStage {
  readonly id: string;
  readonly directions: readonly Direction[];
  /** Cheap, at header time: does this stage want this body at all? */
  accepts(ctx: ScanContext): boolean;
  /** Longest match the stage can make; sets the overlap between windows. */
  readonly maxMatchLength: number;
  scan(input: ScanInput): readonly Finding[];
}

/** What the audit line and the 403 body get. */
export interface AuditFinding {
  readonly rule: string;
  readonly kind: string;
  readonly location: Location;
  readonly action: Action;
}

export type GuardVerdict = 'pass' | 'redact' | 'block';

export interface GuardReport {
  readonly verdict: GuardVerdict;
  readonly findings: readonly AuditFinding[];
  /** Set when the host opted out of body scanning, so the audit line can say so. */
  readonly skipped?: string;
}

/** Everything forward/ knows about one exchange when it asks the guard. */
export interface ExchangeContext {
  readonly agent: string;
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly decision: Decision;
}

export interface RequestHead {
  /** Path and query as they will be sent upstream (origin-form). */
  readonly target: string;
  /** Header pairs as they will be sent upstream, after Sluice stripped agent credentials and before injection. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export interface HeadResult {
  readonly report: GuardReport;
  /** The (possibly redacted) target and headers to send on. */
  readonly head: RequestHead;
}

/**
 * A body filter: write the body in, read the bytes to forward out. It never emits a byte that has not been
 * scanned; it fails with GuardBlockedError when a block finding appears. For request bodies it holds its
 * output until it has seen maxBufferedBytes or the end, so a small body is decided whole before the upstream
 * request starts.
 */
export interface BodyFilter {
  readonly stream: Transform;
  /** The Content-Encoding of what the filter emits ('identity' when it decoded the body). */
  readonly outputEncoding: string;
  /** Final report; complete once the stream has finished. */
  report(): GuardReport;
  /** Set when the emitted text is not in the declared charset any more: forward/ rewrites Content-Type's charset. */
  readonly outputCharset?: string;
  /** Every finding with its span in the decoded body (for `sluice scan`); never the matched text. */
  findings?(): readonly Finding[];
  /**
   * Response headers to add or replace (finding summary, annotate marker id, transcoded charset). Read once the
   * first output chunk exists, which is when the first window's findings are known.
   */
  annotations?(): Readonly<Record<string, string>>;
  /**
   * Filter a complete body in one synchronous call instead of through `stream` (use one or the other, once):
   * for small bodies the stream's per-chunk plumbing costs more than the scan. Throws GuardBlockedError.
   */
  cleanWhole?(body: Buffer): Buffer;
}

export interface ResponseHead {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export interface Guard {
  /** URL, headers and host labels of a request, before any body byte is read. */
  checkRequestHead(ctx: ExchangeContext, head: RequestHead): HeadResult;
  /** A filter for the request body, or null when nothing needs to see it. */
  requestBody(ctx: ExchangeContext, contentType: string, contentEncoding: string): BodyFilter | null;
  /** Response headers (secret echo in headers, annotation headers). */
  checkResponseHead(ctx: ExchangeContext, head: ResponseHead): { report: GuardReport; head: ResponseHead };
  /** A filter for the response body, or null (binary types, guard off). */
  responseBody(ctx: ExchangeContext, head: ResponseHead): BodyFilter | null;
}
