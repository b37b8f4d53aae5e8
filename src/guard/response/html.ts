// Streaming HTML cleaner on htmlparser2's tokenizer (no regexes over markup). Markup is re-emitted from the
// original source slices, so the page stays as it was; text nodes become text items; what a human cannot
// see (comments, hidden elements, <template>, <noscript>) is scanned as hidden text and removed.
// Hiding techniques: Greshake et al. arXiv:2302.12173 (indirect injection in web pages), BIPIA.
import { Parser } from 'htmlparser2';
import type { DisabledRules } from '../rules/catalog.ts';
import type { Finding } from '../types.ts';
import type { RuleSet } from './rules.ts';
import { detectInjections, scoreHits, type DetectOptions } from './detect.ts';
import { findHidingReason } from './html-hidden.ts';
import type { TextStream } from './text-stream.ts';
import { buildView } from './unicode.ts';

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const RAW_TEXT = new Set(['script', 'style']);
const INLINE = new Set(['a', 'abbr', 'b', 'bdi', 'bdo', 'cite', 'code', 'data', 'dfn', 'em', 'font', 'i', 'kbd', 'mark', 'q', 's', 'samp', 'small', 'span', 'strong', 'sub', 'sup', 'time', 'u', 'var']);
const SCANNED_ATTRS = new Set(['alt', 'title', 'aria-label', 'aria-description', 'placeholder', 'content', 'value', 'summary', 'label']);

export interface HtmlOptions {
  readonly apply: boolean;
  readonly rules: RuleSet;
  readonly disabled: DisabledRules;
  readonly record: (f: Finding) => void;
  readonly blockOnHigh: boolean;
  readonly onBlock: (f: Finding) => void;
}

function escapeText(t: string): string {
  return t.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}
function escapeAttr(t: string): string {
  return t.replace(/[&"]/g, (c) => (c === '&' ? '&amp;' : '&quot;'));
}

export class HtmlCleaner {
  private readonly out: TextStream;
  private readonly opts: HtmlOptions;
  private readonly parser: Parser;
  private src = '';
  private srcBase = 0;
  private consumed = 0;
  private stack: string[] = [];
  private hiddenDepth = -1;
  private comment = '';
  /** Attribute values are shown only on hover or to screen readers: every hit in them counts as hidden. */
  private readonly attrDetect: DetectOptions;

  constructor(out: TextStream, opts: HtmlOptions) {
    this.out = out;
    this.opts = opts;
    this.attrDetect = { rules: opts.rules, disabled: opts.disabled, hidden: () => true };
    this.parser = new Parser(
      {
        onopentag: (name, attribs) => this.onOpen(name, attribs),
        onclosetag: (name, implied) => this.onClose(name, implied),
        ontext: (text) => this.onText(text),
        oncomment: (data) => {
          this.comment += data;
        },
        oncommentend: () => this.onCommentEnd(),
        onprocessinginstruction: () => this.passMarkup(false),
        oncdatastart: () => this.passMarkup(false),
      },
      { decodeEntities: true, recognizeSelfClosing: false },
    );
  }

  write(s: string): void {
    // Drop the consumed source once per chunk, not once per token (take() only slices).
    this.src = this.src.slice(this.consumed - this.srcBase) + s;
    this.srcBase = this.consumed;
    this.parser.write(s);
  }

  end(): void {
    this.parser.end();
    const rest = this.take(this.srcBase + this.src.length);
    if (rest.length > 0) this.out.opaque(this.hiddenDepth >= 0 && this.opts.apply ? '' : rest);
  }

  /** The source from what was consumed up to absolute index `end` (exclusive); the next write() drops it. */
  private take(end: number): string {
    if (end <= this.consumed) return '';
    const s = this.src.slice(this.consumed - this.srcBase, end - this.srcBase);
    this.consumed = end;
    return s;
  }

  private get hidden(): boolean {
    return this.hiddenDepth >= 0;
  }

  private passMarkup(separate: boolean): void {
    const raw = this.take(this.parser.endIndex + 1);
    this.out.opaque(this.hidden && this.opts.apply ? '' : raw, separate);
  }

  private onOpen(name: string, attribs: Record<string, string>): void {
    const raw = this.take(this.parser.endIndex + 1);
    const start = this.parser.startIndex;
    const separate = !INLINE.has(name);
    if (!VOID.has(name)) this.stack.push(name);
    if (this.hidden) {
      this.out.opaque(this.opts.apply ? '' : raw, separate);
      return;
    }
    const found = findHidingReason(name, attribs);
    const reason = found !== null && this.opts.disabled.has(`response/html-hidden/${found}`) ? null : found;
    if (reason !== null) {
      this.opts.record({ rule: `response/html-hidden/${reason}`, kind: 'hidden_content', severity: 'low', span: [start, this.parser.endIndex + 1], action: this.opts.apply ? 'redact' : 'log' });
      if (!VOID.has(name)) this.hiddenDepth = this.stack.length - 1;
      this.scanAttributes(attribs, start, true);
      this.out.opaque(this.opts.apply ? '' : raw, separate);
      return;
    }
    const drop = this.scanAttributes(attribs, start, false);
    this.out.opaque(drop !== null && this.opts.apply ? serializeTag(name, attribs, drop) : raw, separate);
  }

  /** Scan alt/title/meta content...; returns the attributes to remove (instruction-bearing), or null for none. */
  private scanAttributes(attribs: Record<string, string>, start: number, hiddenElement: boolean): Set<string> | null {
    let drop: Set<string> | null = null;
    for (const k in attribs) {
      if (!SCANNED_ATTRS.has(k)) continue;
      const v = attribs[k]!;
      if (v.length < 8) continue;
      const view = buildView(v);
      const hits = detectInjections(v, this.attrDetect, 0, view);
      for (const h of hits.length > 0 ? scoreHits(hits, this.opts.rules) : []) {
        const high = h.severity === 'high' || h.severity === 'critical';
        const action = high && this.opts.blockOnHigh ? 'block' : high && this.opts.apply ? 'redact' : 'log';
        const f: Finding = { rule: `response/injection/${h.rule}`, kind: h.kind, severity: h.severity, span: [start, this.parser.endIndex + 1], action };
        this.opts.record(f);
        if (action === 'block') this.opts.onBlock(f);
        if (h.severity !== 'low' && !hiddenElement) (drop ??= new Set()).add(k);
      }
      // Invisible characters to strip: the attribute is dropped rather than rewritten.
      if (view.strip.length > 0) (drop ??= new Set()).add(k);
    }
    return drop;
  }

  private onClose(name: string, implied: boolean): void {
    const wasHidden = this.hidden;
    if (!VOID.has(name)) {
      const idx = this.stack.lastIndexOf(name);
      // pop(), not `length = idx`: truncating through length is a slow runtime call on every close tag.
      if (idx >= 0) while (this.stack.length > idx) this.stack.pop();
    }
    if (this.hiddenDepth >= 0 && this.stack.length <= this.hiddenDepth) this.hiddenDepth = -1;
    if (implied) return; // an implied close has no source of its own
    const raw = this.take(this.parser.endIndex + 1);
    this.out.opaque(wasHidden && this.opts.apply ? '' : raw, !INLINE.has(name));
  }

  private onText(text: string): void {
    const start = this.parser.startIndex;
    const before = this.take(start);
    if (before.length > 0) this.out.opaque(this.hidden && this.opts.apply ? '' : before);
    const raw = this.take(this.parser.endIndex + 1);
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined && RAW_TEXT.has(top)) {
      this.out.opaque(this.hidden && this.opts.apply ? '' : raw);
      return;
    }
    if (this.hidden) {
      if (!this.opts.apply) this.out.opaque(raw);
      this.out.text(text, '', () => '', true);
      return;
    }
    this.out.text(text, raw, escapeText);
  }

  private onCommentEnd(): void {
    const raw = this.take(this.parser.endIndex + 1);
    const start = this.parser.startIndex;
    const strip = this.opts.apply && !this.opts.disabled.has('response/html-hidden/comment');
    if (!this.hidden && !this.opts.disabled.has('response/html-hidden/comment')) this.opts.record({ rule: 'response/html-hidden/comment', kind: 'hidden_content', severity: 'low', span: [start, this.parser.endIndex + 1], action: strip ? 'redact' : 'log' });
    this.out.opaque(strip || (this.hidden && this.opts.apply) ? '' : raw, true);
    this.out.text(this.comment, '', () => '', true);
    this.out.opaque('', true);
    this.comment = '';
  }
}

function serializeTag(name: string, attribs: Record<string, string>, drop: ReadonlySet<string>): string {
  let s = `<${name}`;
  for (const [k, v] of Object.entries(attribs)) if (!drop.has(k)) s += v === '' ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`;
  return `${s}>`;
}
