// The last pass before bytes reach the agent: known secrets (THREATS 2.6) are searched in the whole output,
// structure included. The cleaner's text stream only sees what a reader sees (JSON string values, HTML text),
// so a secret echoed as a JSON object key, a number, an attribute value or in a body that only claims to be
// JSON would pass it; here every character is searched. JSON-shaped output is redacted with format-keeping
// edits (a string keeps its quotes, a number becomes a string), so valid JSON stays valid JSON.
import { resolveFindings } from '../apply.ts';
import { applyEdits, lexJson, resolveEdits, type BodyFormat, type JsonLexState, type RawSpan } from '../edits.ts';
import type { Finding, GuardStage, ScanContext } from '../types.ts';
import { scanWindow } from '../window.ts';

export interface EchoPassOptions {
  readonly stages: readonly GuardStage[];
  readonly ctx: ScanContext;
  readonly format: BodyFormat;
  readonly emit: (out: string) => void;
  readonly record: (f: Finding) => void;
}

/** Text held before a non-final pass runs, beyond the overlap (keeps rescans of the overlap rare). */
const MIN_PASS = 8 * 1024;

export class EchoPass {
  private pending = '';
  private base = 0;
  private lex: JsonLexState = { inString: false };
  private readonly opts: EchoPassOptions;
  private readonly overlap: number;

  constructor(opts: EchoPassOptions) {
    this.opts = opts;
    this.overlap = Math.max(0, ...opts.stages.map((s) => s.maxMatchLength));
  }

  /** Output of the cleaner; `final` releases everything held (end of an event or of the body). */
  write(text: string, final: boolean): void {
    this.pending += text;
    if (!final && this.pending.length < this.overlap + MIN_PASS) return;
    this.pass(final);
  }

  private pass(final: boolean): void {
    const raw = this.pending;
    if (raw.length === 0) return;
    const o = { stages: this.opts.stages, ctx: this.opts.ctx, format: this.opts.format, byteDomain: false, maxBuffered: 0, windowSize: 0 };
    const found = resolveFindings(scanWindow(o, raw, this.base));
    let cut = final ? raw.length : this.safeCut(raw, raw.length - this.overlap, found);
    let spans = redactSpans(found, this.base + cut);
    let edits = resolveEdits(this.opts.format, raw, this.base, spans, this.lex);
    // A number turned into a string may reach past the cut: take the whole token now.
    const reach = Math.max(cut, ...edits.map((e) => e.end - this.base));
    if (reach > cut) {
      cut = reach;
      spans = redactSpans(found, this.base + cut);
      edits = resolveEdits(this.opts.format, raw, this.base, spans, this.lex);
    }
    for (const f of found) if (f.span[0] < this.base + cut) this.opts.record(f);
    const out = applyEdits(raw, this.base, this.base, this.base + cut, edits, null).text;
    if (this.opts.format === 'json') this.lex = lexJson(raw, 0, cut, this.lex);
    this.pending = raw.slice(cut);
    this.base += cut;
    if (out.length > 0 || final) this.opts.emit(out);
  }

  /** A cut at or before `target` that splits no finding, no escape (a trailing backslash) and no surrogate pair. */
  private safeCut(raw: string, target: number, found: readonly Finding[]): number {
    let cut = Math.max(0, target);
    for (let changed = true; changed; ) {
      changed = false;
      for (const f of found) {
        const s = f.span[0] - this.base;
        if (s < cut && f.span[1] - this.base > cut) {
          cut = s;
          changed = true;
        }
      }
    }
    let slashes = 0;
    while (slashes < cut && raw.charCodeAt(cut - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 1) cut--; // an escape's backslash stays with the character it escapes
    const c = raw.charCodeAt(cut - 1);
    if (cut > 0 && c >= 0xd800 && c < 0xdc00) cut--;
    return cut;
  }
}

function redactSpans(found: readonly Finding[], before: number): RawSpan[] {
  return found.filter((f) => f.action === 'redact' && f.span[0] < before && f.span[1] > f.span[0]).map((f) => ({ start: f.span[0], end: f.span[1], replacement: f.replacement ?? `[REDACTED:${f.kind}]` }));
}
