// Clean one window of extracted text: invisible characters, injection phrasing, markdown exfiltration,
// secret echo (the stages D passes in) and, in annotate mode, marker escaping. Pure: returns edits and
// findings in window coordinates; the text stream decides which of them are final (before its cut).
import { scanText } from '../apply.ts';
import type { DisabledRules } from '../rules/catalog.ts';
import type { Action, Finding, GuardStage, ScanContext, Severity } from '../types.ts';
import { detectInjections, scoreHits } from './detect.ts';
import { findMarkdownExfil } from './markdown.ts';
import type { RuleSet } from './rules.ts';
import { buildView, stripInvisible, type Edit } from './unicode.ts';

export type ResponseMode = 'sanitize' | 'annotate' | 'block' | 'log' | 'off';

export interface CleanerConfig {
  readonly mode: ResponseMode;
  readonly rules: RuleSet;
  readonly disabled: DisabledRules;
  readonly stages: readonly GuardStage[];
  readonly scanCtx: ScanContext;
  readonly isHostAllowed: (host: string) => boolean;
  /** Per-response random id for annotate markers. */
  readonly markerId: string;
  /** Annotate by wrapping suspicious spans (structured bodies); text bodies are wrapped whole instead. */
  readonly wrapSpans: boolean;
}

/** An edit with a priority: where edits overlap, the strongest replacement covers their union. */
export interface RankedEdit extends Edit {
  readonly rank: number;
  /** For annotate wraps: the replacement is prefix + (span with weaker edits applied) + suffix. */
  readonly wrap?: readonly [string, string];
}

export interface WindowResult {
  readonly edits: readonly RankedEdit[];
  /** Findings with window-relative spans. */
  readonly findings: readonly Finding[];
  /** Extents of scored clusters (window-relative), so a cut never separates hits that score together. */
  readonly clusters: ReadonlyArray<readonly [number, number]>;
}

export const DEFANGED = '[sluice: removed suspected instruction]';
const RANK_STAGE = 5;
const RANK_DEFANG = 4;
const RANK_WRAP = 3;
const RANK_MARKDOWN = 2;
const RANK_STRIP = 1;
const RANK_ESCAPE = 0;
const MARKER_LIKE = /<<<(?=\s*sluice)/gi;

export function openMarker(id: string): string {
  return `<<<sluice:untrusted id=${id}>>>`;
}
export function closeMarker(id: string): string {
  return `<<<sluice:end id=${id}>>>`;
}

function applies(mode: ResponseMode): boolean {
  return mode === 'sanitize' || mode === 'annotate' || mode === 'block';
}

function injectionAction(mode: ResponseMode, severity: Severity): Action {
  if (severity !== 'high' && severity !== 'critical') return 'log';
  if (mode === 'block') return 'block';
  return mode === 'sanitize' ? 'redact' : 'log';
}

/** Scan and plan the rewrite of `text`, whose first character is at absolute `offset` in the text stream. */
export function cleanWindow(cfg: CleanerConfig, text: string, offset: number, hidden: (start: number, end: number) => boolean): WindowResult {
  const edits: RankedEdit[] = [];
  const findings: Finding[] = [];
  const clusters: Array<[number, number]> = [];
  const apply = applies(cfg.mode);
  if (cfg.mode !== 'off') {
    const view = buildView(text);
    const tags = view.hidden.length > 0;
    if (view.strip.length > 0 && !cfg.disabled.has(tags ? 'response/hidden-unicode-run' : 'response/invisible-unicode')) {
      const first = view.strip[0]!;
      const last = view.strip[view.strip.length - 1]!;
      findings.push({ rule: tags ? 'response/hidden-unicode-run' : 'response/invisible-unicode', kind: 'hidden_unicode', severity: tags ? 'medium' : 'low', span: [first.start, last.end], action: apply ? 'redact' : 'log' });
      if (apply) for (const e of view.strip) edits.push({ ...e, rank: RANK_STRIP });
    }
    planInjections(cfg, text, hidden, view, edits, findings, clusters);
    planMarkdown(cfg, text, apply, edits, findings);
    if (cfg.mode === 'annotate') {
      MARKER_LIKE.lastIndex = 0;
      for (let m = MARKER_LIKE.exec(text); m !== null; m = MARKER_LIKE.exec(text)) edits.push({ start: m.index, end: m.index + 3, replacement: '‹‹‹', rank: RANK_ESCAPE });
    }
  }
  planStages(cfg, text, offset, edits, findings);
  return { edits, findings, clusters };
}

function planInjections(cfg: CleanerConfig, text: string, hidden: (s: number, e: number) => boolean, view: ReturnType<typeof buildView>, edits: RankedEdit[], findings: Finding[], clusters: Array<[number, number]>): void {
  const hits = detectInjections(text, { rules: cfg.rules, disabled: cfg.disabled, hidden }, 0, view);
  if (hits.length === 0) return;
  const scored = scoreHits(hits, cfg.rules);
  let cStart = -1;
  let cEnd = -1;
  for (const h of scored) {
    if (cStart < 0 || h.start - cEnd > cfg.rules.clusterGap) {
      if (cStart >= 0) clusters.push([cStart, cEnd]);
      cStart = h.start;
    }
    cEnd = Math.max(cEnd, h.end);
    const action = injectionAction(cfg.mode, h.severity);
    findings.push({ rule: `response/injection/${h.rule}`, kind: h.kind, severity: h.severity, span: [h.start, h.end], action });
    if (action === 'redact') edits.push({ start: h.start, end: h.end, replacement: DEFANGED, rank: RANK_DEFANG });
    else if (cfg.mode === 'annotate' && cfg.wrapSpans && h.severity !== 'low') {
      edits.push({ start: h.start, end: h.end, replacement: '', rank: RANK_WRAP, wrap: [openMarker(cfg.markerId), closeMarker(cfg.markerId)] });
    }
  }
  if (cStart >= 0) clusters.push([cStart, cEnd]);
}

function planMarkdown(cfg: CleanerConfig, text: string, apply: boolean, edits: RankedEdit[], findings: Finding[]): void {
  for (const m of findMarkdownExfil(text, cfg.isHostAllowed)) {
    if (cfg.disabled.has(m.image ? 'response/markdown-image-exfil' : 'response/markdown-link-exfil')) continue;
    findings.push({ rule: m.image ? 'response/markdown-image-exfil' : 'response/markdown-link-exfil', kind: 'markdown_exfiltration', severity: m.image ? 'high' : 'medium', span: [m.start, m.end], action: apply ? 'redact' : 'log' });
    if (apply) edits.push({ start: m.start, end: m.end, replacement: stripInvisible(m.replacement), rank: RANK_MARKDOWN });
  }
}

/** Secret echo and any other stage D passes: run on the same window, in every mode (they are not ours to skip). */
function planStages(cfg: CleanerConfig, text: string, offset: number, edits: RankedEdit[], findings: Finding[]): void {
  if (cfg.stages.length === 0) return;
  for (const f of scanText(cfg.stages, text, cfg.scanCtx, offset)) {
    const rel: Finding = { ...f, span: [f.span[0] - offset, f.span[1] - offset] };
    findings.push(rel);
    if (f.action === 'redact' && rel.span[1] > rel.span[0]) edits.push({ start: rel.span[0], end: rel.span[1], replacement: f.replacement ?? `[REDACTED:${f.kind}]`, rank: RANK_STAGE });
  }
}

/**
 * Merge overlapping edits into disjoint ones: the union of a group keeps the strongest replacement, and a
 * wrap keeps the wrapped text with the weaker edits (invisible-character stripping) applied inside it.
 */
export function mergeEdits(text: string, edits: readonly RankedEdit[]): Edit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Edit[] = [];
  let i = 0;
  while (i < sorted.length) {
    let end = sorted[i]!.end;
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.start < end) {
      end = Math.max(end, sorted[j]!.end);
      j++;
    }
    const group = sorted.slice(i, j);
    const top = group.reduce((a, b) => (b.rank > a.rank ? b : a));
    const start = sorted[i]!.start;
    if (top.wrap !== undefined) {
      const inner = applyEdits(text.slice(start, end), mergeEdits(text, group.filter((e) => e !== top)).map((e) => ({ ...e, start: e.start - start, end: e.end - start })));
      out.push({ start, end, replacement: top.wrap[0] + inner + top.wrap[1] });
    } else out.push({ start, end, replacement: top.replacement });
    i = j;
  }
  return out;
}

/** Apply disjoint, sorted edits to text. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = '';
  let cursor = 0;
  for (const e of edits) {
    if (e.start < cursor) continue;
    out += text.slice(cursor, e.start) + e.replacement;
    cursor = e.end;
  }
  return out + text.slice(cursor);
}
