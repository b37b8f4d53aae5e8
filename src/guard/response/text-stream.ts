// The extracted text of a response, scanned in bounded windows with an overlap. Content handlers push
// text items (what a reader sees: HTML text nodes, JSON string values, plain text) and opaque items (markup,
// JSON structure). A window is scanned whole; only the part before the cut is emitted, and the cut never
// falls inside a finding, an edit or a scoring cluster, so a match split across chunks is found exactly once
// and its rewrite is never half-applied. Memory is bounded by the window plus one input chunk.
import { GuardBlockedError } from '../../errors.ts';
import type { Finding } from '../types.ts';
import { mergeEdits, type WindowResult } from './cleaner.ts';
import type { Edit } from './unicode.ts';

interface TextItem {
  readonly type: 'text';
  start: number;
  readonly end: number;
  /** The original bytes for this text when emitted whole and unchanged. */
  raw: string | null;
  readonly hidden: boolean;
  readonly encode: (text: string) => string;
}
interface OpaqueItem {
  readonly type: 'opaque';
  readonly at: number;
  out: string;
}
type Item = TextItem | OpaqueItem;

export interface TextStreamOptions {
  readonly window: number;
  readonly overlap: number;
  /** Gap within which hits score together (a cut keeps clusters whole). */
  readonly clusterGap: number;
  readonly clean: (text: string, offset: number, hidden: (s: number, e: number) => boolean) => WindowResult;
  /** Output in order; `final` marks the end of a flush (an SSE event, an NDJSON line, the body). */
  readonly emit: (out: string, final: boolean) => void;
  readonly record: (finding: Finding) => void;
}

const MAX_OPAQUE_PENDING = 256 * 1024;

export class TextStream {
  private buf = '';
  private base = 0;
  private items: Item[] = [];
  private opaquePending = 0;
  /** Markup-heavy input forces a scan when this much opaque output waits (raised after each scan). */
  private pressureAt = MAX_OPAQUE_PENDING;
  private sepLast = false;
  /** The hidden text items of `items`, in order: kept as they come, not filtered out of every item per window. */
  private hiddenTexts: TextItem[] = [];
  private readonly opts: TextStreamOptions;

  constructor(opts: TextStreamOptions) {
    this.opts = opts;
  }

  /** Text a reader sees. `raw` is its original form in the body; `hidden` text is scanned but never emitted. */
  text(text: string, raw: string | null, encode: (t: string) => string, hidden = false): void {
    if (text.length === 0) {
      if (raw) this.opaque(raw);
      return;
    }
    const start = this.base + this.buf.length;
    this.buf += text;
    this.sepLast = false;
    const item: TextItem = { type: 'text', start, end: start + text.length, raw, hidden, encode };
    this.items.push(item);
    if (hidden) this.hiddenTexts.push(item);
    if (this.buf.length >= this.opts.window + this.opts.overlap) this.process(false);
  }

  /** Markup or structure, emitted as is. `separate` keeps words on both sides apart for detection. */
  opaque(out: string, separate = false): void {
    // A flag, not endsWith: the buffer is a rope of appended pieces and must not be flattened per item.
    if (separate && this.buf.length > 0 && !this.sepLast) {
      this.buf += '\n';
      this.sepLast = true;
    }
    if (out.length === 0) return;
    const at = this.base + this.buf.length;
    // Markup between two text nodes is one item: fewer objects to allocate and to walk when emitting.
    const last = this.items[this.items.length - 1];
    if (last !== undefined && last.type === 'opaque' && last.at === at) last.out += out;
    else this.items.push({ type: 'opaque', at, out });
    this.opaquePending += out.length;
    if (this.opaquePending > this.pressureAt) this.process(false, true);
  }

  /** Scan and emit everything pending (end of an SSE event, an NDJSON line, the body). */
  flush(): void {
    this.process(true);
  }

  private process(final: boolean, pressure = false): void {
    if (!final && !pressure && this.buf.length < this.opts.overlap) return;
    const hiddenItems = this.hiddenTexts;
    const base = this.base;
    const hidden = (s: number, e: number): boolean => hiddenItems.some((i) => i.start - base < e && s < i.end - base);
    const result = this.buf.length > 0 ? this.opts.clean(this.buf, base, hidden) : { edits: [], findings: [], clusters: [] };
    const cut = final ? this.buf.length : this.chooseCut(result);
    for (const f of result.findings) {
      if (f.span[0] >= cut && !(f.span[0] === cut && cut === this.buf.length)) continue;
      this.opts.record({ ...f, span: [f.span[0] + base, f.span[1] + base] });
      if (f.action === 'block') throw new GuardBlockedError('The response was blocked: it carries a suspected prompt injection aimed at the agent.', [{ rule: f.rule, kind: f.kind }]);
    }
    const edits = mergeEdits(this.buf, result.edits.filter((e) => e.start < cut)).map((e) => ({ ...e, start: e.start + base, end: e.end + base }));
    this.emitUntil(base + cut, edits, final);
    this.buf = this.buf.slice(cut);
    this.base = base + cut;
    this.pressureAt = this.opaquePending + MAX_OPAQUE_PENDING;
  }

  /** A cut near the end of the window that splits no finding, edit, cluster or surrogate pair. */
  private chooseCut(r: WindowResult): number {
    const len = this.buf.length;
    const target = Math.max(0, len - this.opts.overlap);
    let cut = target;
    const nl = this.buf.lastIndexOf('\n', target);
    if (nl > target - this.opts.overlap / 2) cut = nl + 1;
    else {
      const sp = this.buf.lastIndexOf(' ', target);
      if (sp > target - this.opts.overlap / 2) cut = sp + 1;
    }
    const ranges: Array<readonly [number, number]> = [
      ...r.edits.map((e) => [e.start, e.end] as const),
      ...r.findings.map((f) => f.span),
      ...r.clusters.map(([s, e]) => [s, e + this.opts.clusterGap] as const),
    ];
    for (let changed = true; changed; ) {
      changed = false;
      for (const [s, e] of ranges) {
        if (s < cut && e > cut) {
          cut = s;
          changed = true;
        }
      }
    }
    if (cut <= 0 && target > 0) cut = Math.max(...r.edits.map((e) => e.end), target, 0); // one giant cluster: accept
    const c = this.buf.charCodeAt(cut - 1);
    if (cut > 0 && cut < len && c >= 0xd800 && c <= 0xdbff) cut--;
    return Math.min(cut, len);
  }

  private emitUntil(limit: number, edits: readonly Edit[], final: boolean): void {
    let out = '';
    let n = 0;
    let hiddenDone = 0;
    for (; n < this.items.length; n++) {
      const item = this.items[n]!;
      if (item.type === 'opaque') {
        if (item.at > limit) break;
        out += item.out;
        this.opaquePending -= item.out.length;
        continue;
      }
      if (item.start >= limit) break;
      if (item.end <= limit) {
        out += this.renderText(item, item.start, item.end, edits, item.raw);
        if (item.hidden) hiddenDone++;
        continue;
      }
      out += this.renderText(item, item.start, limit, edits, null);
      item.start = limit;
      item.raw = null;
      break;
    }
    this.items = this.items.slice(n);
    if (hiddenDone > 0) this.hiddenTexts = this.hiddenTexts.slice(hiddenDone);
    if (out.length > 0 || final) this.opts.emit(out, final);
  }

  private renderText(item: TextItem, start: number, end: number, edits: readonly Edit[], raw: string | null): string {
    if (item.hidden) return '';
    let touched = false;
    let out = '';
    let cursor = start;
    for (const e of edits) {
      if (e.end <= start || e.start >= end) continue;
      touched = true;
      if (e.start >= cursor) {
        out += this.buf.slice(cursor - this.base, e.start - this.base);
        out += e.replacement;
      }
      cursor = Math.max(cursor, Math.min(e.end, end));
    }
    if (!touched && raw !== null) return raw;
    out += this.buf.slice(cursor - this.base, end - this.base);
    return item.encode(out);
  }
}
