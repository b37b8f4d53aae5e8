// The body scanner: decoded text goes in, text that has been scanned comes out. Up to maxBuffered characters
// are held and decided whole; beyond that the body is scanned in windows of fixed size with an overlap of the
// longest match any stage can make, and only the part of a window that no later match can reach is emitted.
// Window edges depend only on text positions, never on how the input was chunked.
import { GuardBlockedError } from '../errors.ts';
import { resolveFindings, scanText } from './apply.ts';
import { applyEdits, resolveEdits, type BodyFormat, type Edit, type JsonLexState, lexJson, type RawSpan } from './edits.ts';
import type { Finding, GuardStage, ScanContext } from './types.ts';
import { jsonView } from './json-view.ts';
import { formView, identityView, viewSpanToRaw, type View } from './views.ts';

export interface BodyScannerOptions {
  readonly stages: readonly GuardStage[];
  readonly ctx: ScanContext;
  readonly format: BodyFormat;
  /** Characters decided whole before streaming starts. */
  readonly maxBuffered: number;
  readonly windowSize: number;
  /** The body text is latin1 of UTF-8 bytes (escapes expand to bytes in views). */
  readonly byteDomain: boolean;
  /**
   * The body is declared binary (a file type, or an encoding passed through undecoded). Otherwise each window is
   * sniffed, and the first that looks binary makes the rest of the body binary too. See binaryAction.
   */
  readonly binary?: boolean;
}

/** Control bytes that text does not carry (tab, line breaks, form feed and ESC of terminal colours excepted). */
const CONTROL_BYTES = /[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/g;
/** Share of control bytes from which a window is binary: random bytes carry about 11%, text about none. */
const BINARY_SHARE = 0.005;

/** Characters of each window sniffed: binary formats carry control bytes throughout, so a sample tells. */
const SNIFF_LENGTH = 8192;

/** Does this window look like a binary file rather than text? */
export function looksBinary(text: string): boolean {
  const sample = text.length > SNIFF_LENGTH ? text.slice(0, SNIFF_LENGTH) : text;
  if (sample.length === 0) return false;
  const limit = Math.max(1, sample.length * BINARY_SHARE);
  let seen = 0;
  CONTROL_BYTES.lastIndex = 0;
  while (CONTROL_BYTES.exec(sample) !== null) if (++seen >= limit) return true;
  return false;
}

/**
 * A redaction rewrites bytes, which keeps text, JSON and forms valid but corrupts a binary file (an archive's
 * sizes and checksums, an image). In a binary body a secret to redact is blocked instead (it must not leave),
 * and PII to redact is only logged: pattern matches in random bytes are common (an "email" such as K@q.Zr turned
 * up in 8% of random 256 KiB uploads), and losing the user's file is worse than missing PII in it.
 */
export function binaryAction(f: Finding): Finding {
  if (f.action !== 'redact') return f;
  return { ...f, action: f.rule.startsWith('pii/') ? 'log' : 'block' };
}

export interface BodyScanner {
  /** Feed decoded text; returns text that is safe to emit now. Throws GuardBlockedError on a block finding. */
  push(text: string): string;
  /** End of body: returns the rest. Throws GuardBlockedError on a block finding. */
  finish(): string;
  /** Every finding so far, raw absolute spans, de-duplicated. */
  findings(): readonly Finding[];
  readonly streamed: () => boolean;
  /** Raw characters emitted so far (the text returned is these, rewritten where redactions apply). */
  readonly emittedRaw: () => number;
  /** True when the text the last push or finish returned is the raw text unchanged (nothing was redacted in it). */
  readonly lastWasRaw: () => boolean;
}

export function blockedError(findings: readonly Finding[]): GuardBlockedError {
  const blocks = findings.filter((f) => f.action === 'block');
  const kinds = [...new Set(blocks.map((f) => f.kind))].join(', ');
  return new GuardBlockedError(
    `The request was blocked by Sluice's guard because it appears to contain ${kinds || 'sensitive data'}. Remove it from the request, or use the placeholder Sluice gave you instead of a real credential.`,
    blocks.map((f) => ({ rule: f.rule, kind: f.kind })),
  );
}

function viewFor(format: BodyFormat, raw: string, byteDomain: boolean): View {
  if (format === 'json') return jsonView(raw, byteDomain);
  if (format === 'form') return formView(raw);
  return identityView(raw);
}

export function scanWindow(o: BodyScannerOptions, raw: string, base: number): Finding[] {
  const view = viewFor(o.format, raw, o.byteDomain);
  const out: Finding[] = [];
  for (const f of scanText(o.stages, view.text, o.ctx, 0)) {
    const [s, e] = viewSpanToRaw(view, Math.min(f.span[0], view.text.length), Math.min(f.span[1], view.text.length));
    out.push({ ...f, span: [base + s, base + e] });
  }
  return out;
}

function redactSpans(findings: readonly Finding[]): RawSpan[] {
  return findings.filter((f) => f.action === 'redact').map((f) => ({ start: f.span[0], end: f.span[1], replacement: f.replacement ?? `[REDACTED:${f.kind}]` }));
}

/** A cut that does not split a UTF-16 surrogate pair (non-byte-domain text is re-encoded per chunk). */
function safeCut(text: string, cut: number): number {
  const c = text.charCodeAt(cut - 1);
  return c >= 0xd800 && c < 0xdc00 ? cut - 1 : cut;
}

export function createBodyScanner(o: BodyScannerOptions): BodyScanner {
  const overlap = Math.max(0, ...o.stages.map((s) => s.maxMatchLength));
  const all: Finding[] = [];
  let chunks: string[] = [];
  let held = 0;
  let base = 0;
  let streaming = false;
  let lex: JsonLexState = { inString: false };
  let carry: Edit | null = null;
  let carrySpans: RawSpan[] = [];
  let unchanged = true;
  let binary = o.binary === true;

  const take = (): string => {
    const joined = chunks.length === 1 ? chunks[0]! : chunks.join('');
    chunks = [joined];
    return joined;
  };

  /** Scan raw (starting at base), emit [base, base + emitLength). */
  function step(raw: string, emitLength: number, final: boolean): string {
    if (!binary && looksBinary(raw)) binary = true;
    const scanned = scanWindow(o, raw, base);
    const found = binary ? scanned.map(binaryAction) : scanned;
    const end = base + emitLength;
    const owned = final ? found : found.filter((f) => f.span[0] < end);
    for (const f of owned) all.push(f);
    if (owned.some((f) => f.action === 'block')) throw blockedError(owned);
    const spans = [...carrySpans, ...redactSpans(owned)].filter((s) => s.end > base);
    const edits = resolveEdits(o.format, raw, base, spans, lex);
    if ((carry !== null && carry.end > base) || edits.some((e) => e.start < end)) unchanged = false;
    const r = applyEdits(raw, base, base, end, edits, carry);
    carry = r.carry;
    carrySpans = spans.filter((s) => s.end > end).map((s) => ({ ...s, start: Math.max(s.start, end) }));
    // After the last window nothing reads the lexer state again.
    if (o.format === 'json' && !final) lex = lexJson(raw, 0, emitLength, lex);
    base = end;
    return r.text;
  }

  function drain(final: boolean): string {
    let out = '';
    while (held >= o.windowSize + overlap || (final && held > 0)) {
      const raw = take();
      const windowText = final && held <= o.windowSize + overlap ? raw : raw.slice(0, o.windowSize + overlap);
      const emitLength = windowText.length === raw.length && final ? raw.length : safeCut(raw, o.windowSize);
      out += step(windowText, emitLength, final && emitLength === raw.length);
      const rest = raw.slice(emitLength);
      chunks = rest.length > 0 ? [rest] : [];
      held = rest.length;
    }
    return out;
  }

  return {
    push(text) {
      unchanged = true;
      if (text.length === 0) return '';
      chunks.push(text);
      held += text.length;
      if (!streaming && held <= o.maxBuffered) return '';
      streaming = true;
      return drain(false);
    },
    finish() {
      unchanged = true;
      if (!streaming) {
        const raw = take();
        chunks = [];
        held = 0;
        return raw.length === 0 ? '' : step(raw, raw.length, true);
      }
      return drain(true);
    },
    findings: () => resolveFindings(all),
    streamed: () => streaming,
    emittedRaw: () => base,
    lastWasRaw: () => unchanged,
  };
}
