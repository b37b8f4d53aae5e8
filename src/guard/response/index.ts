// Response guard entry point: one BodyFilter per response that cleans what the agent is about to read
// (THREATS 2.8: indirect prompt injection). The pipeline (helper D) calls createResponseFilter; forward/
// pipes the upstream body through filter.stream, drops Content-Encoding/Content-Length and re-frames.
import { randomBytes } from 'node:crypto';
import { GuardBlockedError } from '../../errors.ts';
import type { GuardSettings } from '../settings.ts';
import type { BodyFilter, ExchangeContext, Finding, GuardReport, GuardStage, ResponseHead, ScanContext } from '../types.ts';
import { parseContentEncoding } from './body-decoder.ts';
import { cleanWindow, closeMarker, openMarker, type CleanerConfig, type ResponseMode } from './cleaner.ts';
import { classify, type BodyKind, type ContentInfo } from './content-kind.ts';
import { EchoPass } from './echo-pass.ts';
import { plainHandler, ResponseCleaner, ResponseTransform, type BuiltHandler, type ContentHandler, type FindingSink } from './filter.ts';
import type { BodyFormat } from '../edits.ts';
import { HtmlCleaner } from './html.ts';
import { JsonStringRewriter } from './json-strings.ts';
import { NdjsonCleaner, SseCleaner } from './line-framed.ts';
import { DEFAULT_INJECTION_RULES, type RuleSet } from './rules.ts';
import { disabledRules } from '../rules/catalog.ts';
import { TextStream } from './text-stream.ts';

export interface ResponseFilterDeps {
  readonly stages: readonly GuardStage[];
  readonly settings: GuardSettings;
  readonly isHostAllowed: (host: string) => boolean;
  readonly maxDecodedBytes: number;
}

export interface ResponseFilter extends BodyFilter {
  /**
   * Response headers to add or replace: `x-sluice-response-guard` (summary of findings so far),
   * `x-sluice-untrusted-id` (annotate mode: the id of the boundary markers) and `content-type` when the
   * body was transcoded to UTF-8. Complete for the findings seen before the first output chunk.
   */
  annotations(): Record<string, string>;
  /** Every finding so far (with spans and severities; never the matched text), capped at 500. */
  findings(): readonly Finding[];
  /** Bytes emitted so far (0 means a block can still become a clean 403). */
  bytesEmitted(): number;
}

const WINDOW = 32 * 1024;
const MIN_OVERLAP = 2048;
const WHOLE_BODY_MARKERS = new Set<BodyKind>(['html', 'markdown', 'text']);

function headerValue(head: ResponseHead, name: string): string | undefined {
  for (const [k, v] of head.headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

function scanContextFor(ctx: ExchangeContext, settings: GuardSettings, contentType: string): ScanContext {
  return { direction: 'response', agent: ctx.agent, host: ctx.host, contentType, location: 'body', settings, boundSecret: ctx.decision.credential?.secret ?? null };
}

export function createResponseFilter(ctx: ExchangeContext, head: ResponseHead, deps: ResponseFilterDeps): ResponseFilter | null {
  return createResponseFilterWith(DEFAULT_INJECTION_RULES, ctx, head, deps);
}

/** Same, with an explicit rule set (tests, `sluice scan` with extra rule packs). */
export function createResponseFilterWith(rules: RuleSet, ctx: ExchangeContext, head: ResponseHead, deps: ResponseFilterDeps): ResponseFilter | null {
  const contentType = headerValue(head, 'content-type') ?? '';
  const info = classify(contentType);
  const scanCtx = scanContextFor(ctx, deps.settings, contentType);
  const stages = deps.stages.filter((s) => s.directions.includes('response') && s.accepts(scanCtx));
  if ((info.kind === 'binary' || deps.settings.response === 'off') && stages.length === 0) return null;
  // The boundary id only matters in annotate mode; a syscall per response otherwise shows in profiles.
  const markerId = deps.settings.response === 'annotate' ? randomBytes(9).toString('base64url') : '';
  const base = { rules, disabled: disabledRules(deps.settings.disableRules), stages, scanCtx, isHostAllowed: deps.isHostAllowed, markerId };
  const overlap = Math.max(MIN_OVERLAP, 2 * rules.maxLength, ...stages.map((s) => 2 * s.maxMatchLength));
  const cleaner = new ResponseCleaner({
    kind: info.kind,
    charset: info.charset,
    codings: parseContentEncoding(head.headers),
    maxDecodedBytes: deps.maxDecodedBytes,
    build: (sink, emit, kind) => buildHandler(kind, configFor(base, kind, deps.settings), overlap, sink, emit),
  });
  return new CleanerFilter(cleaner, info, markerId, deps.settings);
}

/**
 * The ResponseFilter around one cleaner. A class rather than an object literal: building the literal (a getter,
 * six closures and a conditional spread) was the largest self-time line of a small JSON body's filtering.
 */
class CleanerFilter implements ResponseFilter {
  readonly outputEncoding = 'identity';
  /** Set only for an identity-coded body: a coded one must go through the stream, which decodes it. */
  readonly cleanWhole?: (body: Buffer) => Buffer;
  private readonly cleaner: ResponseCleaner;
  private readonly info: ContentInfo;
  private readonly markerId: string;
  private readonly settings: GuardSettings;
  private transform: ResponseTransform | null = null;

  constructor(cleaner: ResponseCleaner, info: ContentInfo, markerId: string, settings: GuardSettings) {
    this.cleaner = cleaner;
    this.info = info;
    this.markerId = markerId;
    this.settings = settings;
    if (cleaner.identityCoded) this.cleanWhole = (body) => cleaner.cleanWhole(body);
  }

  /** Made on first use: a small body goes through cleanWhole and never needs a stream. */
  get stream(): ResponseTransform {
    this.transform ??= new ResponseTransform(this.cleaner);
    return this.transform;
  }

  report(): GuardReport {
    return this.cleaner.sink.report();
  }

  findings(): readonly Finding[] {
    return this.cleaner.sink.kept;
  }

  bytesEmitted(): number {
    return this.cleaner.bytesOut;
  }

  annotations(): Record<string, string> {
    const kind = this.cleaner.kind;
    return annotationsFor(this.info, kind ?? 'binary', modeFor(kind ?? this.info.kind, this.settings), this.markerId, this.cleaner.sink);
  }
}

function modeFor(kind: BodyKind | 'sniff', settings: GuardSettings): ResponseMode {
  return kind === 'binary' ? 'off' : settings.response;
}

function configFor(base: Omit<CleanerConfig, 'mode' | 'wrapSpans'>, kind: BodyKind, settings: GuardSettings): CleanerConfig {
  return { ...base, mode: modeFor(kind, settings), wrapSpans: !WHOLE_BODY_MARKERS.has(kind) };
}

/** The echo pass sees the output as JSON where the body is JSON-framed (format-keeping redaction), else as text. */
function echoFormat(kind: BodyKind): BodyFormat {
  return kind === 'json' || kind === 'ndjson' || kind === 'sse' ? 'json' : 'text';
}

function buildHandler(kind: BodyKind, cfg: CleanerConfig, overlap: number, sink: FindingSink, emit: (s: string) => void): BuiltHandler {
  const echo = cfg.stages.length > 0 ? new EchoPass({ stages: cfg.stages, ctx: cfg.scanCtx, format: echoFormat(kind), emit, record: (f) => sink.record(f) }) : null;
  if (kind === 'binary') {
    // A binary body is never cleaned (no injection rules, no edits but the stages' own), so the text stream
    // would only run the stages on the very bytes the echo pass then scans again: every byte twice. The echo
    // pass alone finds and redacts the same values (100 MiB through the full guard ran at about half of
    // inspect mode's rate, and the filter alone at 300-440 MiB/s of CPU, most of it in the two scans); with
    // no stage (a body sniffed as binary) the bytes pass as they are.
    const handler: ContentHandler = echo === null ? { write: (t) => emit(t), end: () => undefined } : { write: (t) => echo.write(t, false), end: () => echo.write('', true) };
    return { handler, prefix: '', suffix: '' };
  }
  const stream = new TextStream({
    window: WINDOW,
    overlap,
    clusterGap: cfg.rules.clusterGap,
    clean: (text, offset, hidden) => cleanWindow(cfg, text, offset, hidden),
    emit: echo === null ? (out) => emit(out) : (out, final) => echo.write(out, final),
    record: (f) => sink.record(f),
  });
  const wholeBody = cfg.mode === 'annotate' && WHOLE_BODY_MARKERS.has(kind);
  const markers = { prefix: wholeBody ? `${openMarker(cfg.markerId)}\n` : '', suffix: wholeBody ? `\n${closeMarker(cfg.markerId)}` : '' };
  return { handler: contentHandler(kind, cfg, stream, sink), ...markers };
}

/** The text kinds' handlers (a binary body never reaches the text stream: buildHandler). */
function contentHandler(kind: Exclude<BodyKind, 'binary'>, cfg: CleanerConfig, stream: TextStream, sink: FindingSink): ContentHandler {
  switch (kind) {
    case 'html': {
      const html = new HtmlCleaner(stream, {
        apply: cfg.mode === 'sanitize' || cfg.mode === 'annotate' || cfg.mode === 'block',
        rules: cfg.rules,
        disabled: cfg.disabled,
        record: (f) => sink.record(f),
        blockOnHigh: cfg.mode === 'block',
        onBlock: (f) => {
          throw new GuardBlockedError('The response was blocked: it carries a suspected prompt injection aimed at the agent.', [{ rule: f.rule, kind: f.kind }]);
        },
      });
      return {
        write: (t) => html.write(t),
        end: () => {
          html.end();
          stream.flush();
        },
      };
    }
    case 'json': {
      const json = new JsonStringRewriter(stream);
      return { write: (t) => json.write(t), end: () => (json.endValue(), stream.flush()) };
    }
    case 'ndjson':
      return new NdjsonCleaner(stream);
    case 'sse':
      return new SseCleaner(stream);
    case 'markdown':
    case 'text':
      return plainHandler(stream);
  }
}

function annotationsFor(info: ContentInfo, kind: BodyKind, mode: ResponseMode, markerId: string, sink: FindingSink): Record<string, string> {
  const out: Record<string, string> = {};
  if (info.transcoded && kind !== 'binary') out['content-type'] = `${info.mime}; charset=utf-8`;
  if (mode === 'annotate') out['x-sluice-untrusted-id'] = markerId;
  if (sink.total > 0 || mode === 'annotate') {
    const s = sink.bySeverity;
    out['x-sluice-response-guard'] = `mode=${mode}; findings=${sink.total}; high=${(s['high'] ?? 0) + (s['critical'] ?? 0)}; medium=${s['medium'] ?? 0}; low=${s['low'] ?? 0}`;
  }
  return out;
}
