// Streaming HTML cleaner on htmlparser2's tokenizer and the Parser's element stack (html-tree.ts), no regexes
// over markup. Markup is re-emitted from the original source slices, so the page stays as it was; text nodes
// become text items; what a human cannot see (comments, hidden elements, <template>, <noscript>) is scanned
// as hidden text and removed.
// Hiding techniques: Greshake et al. arXiv:2302.12173 (indirect injection in web pages), BIPIA.
import type { DisabledRules } from '../rules/catalog.ts';
import type { Finding } from '../types.ts';
import type { RuleSet } from './rules.ts';
import { detectInjections, scoreHits, type DetectOptions } from './detect.ts';
import { findHidingReason } from './html-hidden.ts';
import { HtmlTree, type Attributes, type TreeHandler } from './html-tree.ts';
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

export class HtmlCleaner implements TreeHandler {
  private readonly out: TextStream;
  private readonly opts: HtmlOptions;
  private readonly tree: HtmlTree;
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
    this.tree = new HtmlTree(this);
  }

  write(s: string): void {
    // Drop the consumed source once per chunk, not once per token (take() only slices).
    this.src = this.src.slice(this.consumed - this.srcBase) + s;
    this.srcBase = this.consumed;
    this.tree.write(s);
  }

  end(): void {
    this.tree.end();
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

  onMarkup(): void {
    const raw = this.take(this.tree.endIndex + 1);
    this.out.opaque(this.hidden && this.opts.apply ? '' : raw, false);
  }

  onComment(data: string): void {
    this.comment += data;
  }

  onOpenTag(name: string, attribs: Attributes): void {
    const raw = this.take(this.tree.endIndex + 1);
    const start = this.tree.startIndex;
    const separate = !INLINE.has(name);
    if (!VOID.has(name)) this.stack.push(name);
    if (this.hidden) {
      this.out.opaque(this.opts.apply ? '' : raw, separate);
      return;
    }
    const found = findHidingReason(name, attribs);
    const reason = found !== null && this.opts.disabled.has(`response/html-hidden/${found}`) ? null : found;
    if (reason !== null) {
      this.opts.record({ rule: `response/html-hidden/${reason}`, kind: 'hidden_content', severity: 'low', span: [start, this.tree.endIndex + 1], action: this.opts.apply ? 'redact' : 'log' });
      if (!VOID.has(name)) this.hiddenDepth = this.stack.length - 1;
      this.scanAttributes(attribs, start, true);
      this.out.opaque(this.opts.apply ? '' : raw, separate);
      return;
    }
    const drop = this.scanAttributes(attribs, start, false);
    this.out.opaque(drop !== null && this.opts.apply ? serializeTag(name, attribs, drop) : raw, separate);
  }

  /** Scan alt/title/meta content...; returns the attributes to remove (instruction-bearing), or null for none. */
  private scanAttributes(attribs: Attributes, start: number, hiddenElement: boolean): Set<string> | null {
    let drop: Set<string> | null = null;
    for (let i = 0; i < attribs.count; i++) {
      const k = attribs.names[i]!;
      if (!SCANNED_ATTRS.has(k)) continue;
      const v = attribs.values[i]!;
      if (v.length < 8) continue;
      const view = buildView(v);
      const hits = detectInjections(v, this.attrDetect, 0, view);
      for (const h of hits.length > 0 ? scoreHits(hits, this.opts.rules) : []) {
        const high = h.severity === 'high' || h.severity === 'critical';
        const action = high && this.opts.blockOnHigh ? 'block' : high && this.opts.apply ? 'redact' : 'log';
        const f: Finding = { rule: `response/injection/${h.rule}`, kind: h.kind, severity: h.severity, span: [start, this.tree.endIndex + 1], action };
        this.opts.record(f);
        if (action === 'block') this.opts.onBlock(f);
        if (h.severity !== 'low' && !hiddenElement) (drop ??= new Set()).add(k);
      }
      // Invisible characters to strip: the attribute is dropped rather than rewritten.
      if (view.strip.length > 0) (drop ??= new Set()).add(k);
    }
    return drop;
  }

  onCloseTag(name: string, implied: boolean): void {
    const wasHidden = this.hidden;
    if (!VOID.has(name)) {
      const idx = this.stack.lastIndexOf(name);
      // pop(), not `length = idx`: truncating through length is a slow runtime call on every close tag.
      if (idx >= 0) while (this.stack.length > idx) this.stack.pop();
    }
    if (this.hiddenDepth >= 0 && this.stack.length <= this.hiddenDepth) this.hiddenDepth = -1;
    if (implied) return; // an implied close has no source of its own
    const raw = this.take(this.tree.endIndex + 1);
    this.out.opaque(wasHidden && this.opts.apply ? '' : raw, !INLINE.has(name));
  }

  onText(text: string): void {
    const start = this.tree.startIndex;
    const before = this.take(start);
    if (before.length > 0) this.out.opaque(this.hidden && this.opts.apply ? '' : before);
    const raw = this.take(this.tree.endIndex + 1);
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

  onCommentEnd(): void {
    const raw = this.take(this.tree.endIndex + 1);
    const start = this.tree.startIndex;
    const strip = this.opts.apply && !this.opts.disabled.has('response/html-hidden/comment');
    if (!this.hidden && !this.opts.disabled.has('response/html-hidden/comment')) this.opts.record({ rule: 'response/html-hidden/comment', kind: 'hidden_content', severity: 'low', span: [start, this.tree.endIndex + 1], action: strip ? 'redact' : 'log' });
    this.out.opaque(strip || (this.hidden && this.opts.apply) ? '' : raw, true);
    this.out.text(this.comment, '', () => '', true);
    this.out.opaque('', true);
    this.comment = '';
  }
}

function serializeTag(name: string, attribs: Attributes, drop: ReadonlySet<string>): string {
  let s = `<${name}`;
  for (const [k, v] of Object.entries(attribs.toObject())) if (!drop.has(k)) s += v === '' ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`;
  return `${s}>`;
}
