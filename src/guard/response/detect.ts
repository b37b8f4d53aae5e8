// Injection detection over one text unit: rules on the detection view, then the same rules on decoded
// payloads (base64 blocks, ROT13, %XX runs, leetspeak), then clusters scored into a severity.
// Payload encodings: Wei et al., "Jailbroken" (arXiv:2307.02483) showed base64/ROT13 instructions work on LLMs.
import type { DisabledRules } from '../rules/catalog.ts';
import type { Severity } from '../types.ts';
import type { RuleSet } from './rules.ts';
import { forEachKeyword, forEachKeywordAndRot13, rot13 } from './rules.ts';
import { buildView, toTextRange, type DetectionView } from './unicode.ts';

/** One rule match, in text coordinates, before scoring. */
export interface Hit {
  readonly rule: string;
  readonly kind: string;
  readonly floor: Severity;
  readonly weight: number;
  readonly start: number;
  readonly end: number;
}

export interface ScoredHit extends Hit {
  readonly severity: Severity;
}

export interface DetectOptions {
  readonly rules: RuleSet;
  readonly disabled: DisabledRules;
  /** The whole unit is hidden from a human reader (HTML-hidden element, comment, alt text...). */
  readonly hidden: (start: number, end: number) => boolean;
}

const HIDDEN_FACTOR = 2;
const OBFUSCATED_FACTOR = 1.5;
const DISCUSSED_FACTOR = 0.5;
const OPEN_QUOTES = '"\'“‘«「『`„‚‹';
const CLOSE_QUOTES = '"\'”’»」』`“‘›';
// Visible prose that talks about injection ("an article on prompt injection quoting the phrase").
const DISCUSSION = /prompt[\s-]injection|jailbreak|injection attack|for example|for instance|e\.g\.|such as|phrases? like|known as|example of|attackers? (?:use|write|hide)|malicious (?:page|prompt|text)/i;
// A leet character between letters or before two letters; led by the rare class so irregexp skips ahead to it.
const LEET = /[013457@$](?:[a-z]{2}|(?<=[a-z].)[a-z])/i;
const LEET_MAP: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };
const PERCENT_RUN = /(?:[^\s%"'<>]{0,24}%[0-9A-Fa-f]{2}){4,}[^\s%"'<>]{0,24}/g;
const MAX_ENCODED = 8192;

type Ranges = Map<number, Array<[number, number]>>;

/** Widen a keyword hit into the slice where its rules' patterns may match, merging with the previous slice. */
function addRange(ranges: Ranges, rules: RuleSet, ids: readonly number[], start: number, end: number, length: number): void {
  for (const id of ids) {
    const r = rules.rules[id]!;
    const from = Math.max(0, start - r.lookbehind);
    const to = Math.min(length, end + r.maxLength);
    const list = ranges.get(id);
    if (list === undefined) {
      ranges.set(id, [[from, to]]);
      continue;
    }
    const last = list[list.length - 1]!;
    if (from <= last[1]) last[1] = Math.max(last[1], to);
    else list.push([from, to]);
  }
}

/** `nonAscii`: regions of `view` that hold its non-ASCII characters (or null), as in DetectionView. */
function gateRanges(view: string, rules: RuleSet, ascii: boolean, nonAscii: readonly number[] | null): Ranges {
  const ranges: Ranges = new Map();
  forEachKeyword(rules, view, (ids, s, e) => addRange(ranges, rules, ids, s, e, view.length), ascii, nonAscii);
  return ranges;
}

/**
 * Short slices on which none of a rule's patterns matched, per rule set. The same short string values come back in
 * response after response ("role":"assistant", "type":"text"), and re2js's DFA was the largest single cost of
 * cleaning a small JSON answer; a pattern's verdict on the same text never changes. Only misses are kept (a match
 * is searched again for its positions), at most MEMO_SLICES of at most MEMO_SLICE_CHARS characters per rule,
 * cleared when full so a hostile upstream cannot grow it.
 */
const MEMO_SLICE_CHARS = 96;
const MEMO_SLICES = 256;
const missesByRules = new WeakMap<RuleSet, Array<Set<string> | undefined>>();

function missesFor(rules: RuleSet): Array<Set<string> | undefined> {
  let misses = missesByRules.get(rules);
  if (misses === undefined) {
    misses = [];
    missesByRules.set(rules, misses);
  }
  return misses;
}

/** Run rules over `view` only near keyword hits and return matches in view coordinates. */
function matchRules(view: string, rules: RuleSet, disabled: DisabledRules, ranges: Ranges): Array<{ rule: number; start: number; end: number }> {
  const out: Array<{ rule: number; start: number; end: number }> = [];
  const misses = missesFor(rules);
  for (const [id, list] of ranges) {
    const r = rules.rules[id]!;
    if (disabled.any && disabled.has(`response/injection/${r.id}`)) continue;
    // Keyword hits arrive out of order (overlapping keywords end where they end): merge the slices.
    list.sort((a, b) => a[0] - b[0]);
    let cur: [number, number] | null = null;
    const merged: Array<[number, number]> = [];
    for (const rg of list) {
      if (cur !== null && rg[0] <= cur[1]) cur[1] = Math.max(cur[1], rg[1]);
      else merged.push((cur = [rg[0], rg[1]]));
    }
    for (const [from, to] of merged) {
      const slice = view.slice(from, to);
      const short = slice.length <= MEMO_SLICE_CHARS;
      const ruleMisses = short ? (misses[id] ??= new Set<string>()) : null;
      if (ruleMisses?.has(slice)) continue;
      let matched = false;
      for (const p of r.patterns) {
        // test() runs re2js's DFA (no captures), about 10x cheaper than the capturing search; most slices around a
        // keyword hold no match ("role":"assistant" in every LLM API answer), so the positions are asked for only
        // when there is one.
        if (!p.test(slice)) continue;
        matched = true;
        const m = p.matcher(slice);
        while (m.find()) {
          if (m.end() === m.start()) continue;
          out.push({ rule: id, start: from + m.start(), end: from + m.end() });
        }
      }
      if (!matched && ruleMisses !== null) {
        if (ruleMisses.size >= MEMO_SLICES) ruleMisses.clear();
        ruleMisses.add(slice);
      }
    }
  }
  return out;
}

function isQuoted(view: string, start: number, end: number): boolean {
  let i = start - 1;
  while (i >= 0 && view[i] === ' ') i--;
  if (i < 0 || !OPEN_QUOTES.includes(view[i]!)) return false;
  const after = view.slice(end, end + 60);
  for (const c of after) if (CLOSE_QUOTES.includes(c)) return true;
  return false;
}

function factorFor(view: string, v: DetectionView, text: string, s: number, e: number, ts: number, te: number, hidden: boolean): number {
  if (hidden) return HIDDEN_FACTOR;
  const shown = text.slice(ts, te);
  if (v.map !== null && shown !== view.slice(s, e) && shown.toLowerCase() !== view.slice(s, e).toLowerCase()) return OBFUSCATED_FACTOR;
  if (isQuoted(view, s, e) || DISCUSSION.test(view.slice(Math.max(0, s - 200), s))) return DISCUSSED_FACTOR;
  return 1;
}

function isHiddenRange(v: DetectionView, ts: number, te: number): boolean {
  for (const [a, b] of v.hidden) if (a < te && ts < b) return true;
  return false;
}

function pushHit(hits: Hit[], rules: RuleSet, ruleIdx: number, ts: number, te: number, factor: number, suffix: string): void {
  const r = rules.rules[ruleIdx]!;
  hits.push({ rule: r.id + suffix, kind: r.kind, floor: r.severity, weight: r.weight * factor, start: ts, end: te });
}

/**
 * Detect injection phrasing in `text` (absolute positions are added by the caller). Most texts trigger
 * nothing (no keyword, leet, base64, ROT13 or %XX), so what only a trigger needs is allocated on the first one:
 * an HTML page calls this once per alt or title attribute.
 */
export function detectInjections(text: string, opts: DetectOptions, depth = 0, view?: DetectionView): Hit[] {
  const v = view ?? buildView(text);
  const { rules } = opts;
  const hits: Hit[] = [];
  // One keyword pass gives both the rule slices and the ROT13 candidates (only on the top-level text).
  let ranges: Ranges | null = null;
  let rotHits: Array<readonly [number, number]> | null = null;
  const onKeyword = (ids: readonly number[], s: number, e: number): void => addRange((ranges ??= new Map()), rules, ids, s, e, v.view.length);
  if (depth === 0) forEachKeywordAndRot13(rules, v.view, onKeyword, (s, e) => (rotHits ??= []).push([s, e]), v.ascii, v.nonAscii);
  else forEachKeyword(rules, v.view, onKeyword, v.ascii, v.nonAscii);
  if (ranges !== null) {
    for (const m of matchRules(v.view, rules, opts.disabled, ranges)) {
      const [ts, te] = toTextRange(v, m.start, m.end);
      const hidden = opts.hidden(ts, te) || isHiddenRange(v, ts, te);
      pushHit(hits, rules, m.rule, ts, te, factorFor(v.view, v, text, m.start, m.end, ts, te, hidden), '');
    }
  }
  if (LEET.test(v.view)) {
    // One ASCII character for another: the view's non-ASCII regions are the leet text's too.
    const leet = v.view.replace(/[013457@$]/g, (c) => LEET_MAP[c] ?? c);
    for (const m of matchRules(leet, rules, opts.disabled, gateRanges(leet, rules, v.ascii, v.nonAscii))) {
      if (leet.slice(m.start, m.end) === v.view.slice(m.start, m.end)) continue; // already found as plain text
      const [ts, te] = toTextRange(v, m.start, m.end);
      pushHit(hits, rules, m.rule, ts, te, opts.hidden(ts, te) ? HIDDEN_FACTOR : OBFUSCATED_FACTOR, '+leet');
    }
  }
  if (depth === 0) detectEncoded(v, opts, hits, rotHits ?? NO_ROT13);
  return hits;
}

const NO_ROT13: ReadonlyArray<readonly [number, number]> = Object.freeze([]);

/** Re-scan a decoded payload; its hits cover the whole encoded span [s, e) of the view. */
function rescan(v: DetectionView, opts: DetectOptions, hits: Hit[], decoded: string, s: number, e: number, suffix: string): void {
  const [ts, te] = toTextRange(v, s, e);
  for (const h of detectInjections(decoded, { ...opts, hidden: () => false }, 1)) {
    const factor = opts.hidden(ts, te) ? HIDDEN_FACTOR : OBFUSCATED_FACTOR;
    hits.push({ ...h, rule: h.rule + suffix, weight: h.weight * factor, start: ts, end: te });
  }
}

/** Decode base64 blocks, ROT13 and %XX runs and re-scan them; a hit covers the whole encoded span. */
function detectEncoded(v: DetectionView, opts: DetectOptions, hits: Hit[], rotHits: ReadonlyArray<readonly [number, number]>): void {
  for (let at = nextBase64Run(v.view, 0); at !== null; at = nextBase64Run(v.view, at[1])) {
    const [s, e] = at;
    const decoded = decodeBase64Text(v.view.slice(s, Math.min(e, s + MAX_ENCODED)));
    if (decoded !== null) rescan(v, opts, hits, decoded, s, e, '+base64');
  }
  if (rotHits.length > 0) {
    let rotUntil = -1;
    for (const [hs, he] of [...rotHits].sort((a, b) => a[0] - b[0])) {
      if (hs < rotUntil) continue;
      const s = Math.max(0, hs - 200);
      const e = Math.min(v.view.length, he + 300);
      rotUntil = e;
      rescan(v, opts, hits, rot13(v.view.slice(s, e)), s, e, '+rot13');
    }
  }
  if (!v.view.includes('%')) return;
  PERCENT_RUN.lastIndex = 0;
  for (let m = PERCENT_RUN.exec(v.view); m !== null; m = PERCENT_RUN.exec(v.view)) {
    const decoded = decodePercent(m[0].slice(0, MAX_ENCODED));
    if (decoded !== null) rescan(v, opts, hits, decoded, m.index, m.index + m[0].length, '+urlencoded');
  }
}

const BASE64_CHARS = (() => {
  const t = new Uint8Array(65536);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') t[c.charCodeAt(0)] = 1;
  return t;
})();

const MIN_BASE64_RUN = 24;

/**
 * The first maximal run, at or after `from`, of 24+ base64/base64url characters (plus up to two '=' of
 * padding), as [start, end), or null. A regex with a lookbehind paid a match attempt at every word of prose;
 * instead, look 23 characters ahead: when that character is not base64, no long run can start before it, so
 * ordinary prose costs a few table lookups per 24 characters. `from` must not be inside a run still to be
 * reported (0, or the end of the previous one).
 */
function nextBase64Run(text: string, from: number): [number, number] | null {
  const n = text.length;
  // Invariant: text[i - 1] is not part of a run still to be reported.
  let i = from;
  while (i + MIN_BASE64_RUN <= n) {
    const probe = i + MIN_BASE64_RUN - 1;
    if (BASE64_CHARS[text.charCodeAt(probe)] !== 1) {
      i = probe + 1;
      continue;
    }
    let start = probe;
    while (start > i && BASE64_CHARS[text.charCodeAt(start - 1)] === 1) start--;
    let stop = probe + 1;
    while (stop < n && BASE64_CHARS[text.charCodeAt(stop)] === 1) stop++;
    if (stop - start < MIN_BASE64_RUN) {
      i = stop;
      continue;
    }
    let end = stop;
    while (end < n && end - stop < 2 && text.charCodeAt(end) === 61) end++;
    return [start, end];
  }
  return null;
}

function decodeBase64Text(b64: string): string | null {
  const buf = Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64');
  if (buf.length < 12) return null;
  const s = buf.toString('utf8');
  let printable = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09 || (c >= 0xa0 && c !== 0xfffd)) printable++;
  }
  return printable / s.length > 0.9 ? s : null;
}

function decodePercent(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Group hits closer than clusterGap and score each group: the sum of the best weight per rule (a phrase
 * repeated in an article does not add up) gives low/medium/high, never below a rule's own floor.
 */
export function scoreHits(hits: readonly Hit[], rules: RuleSet): ScoredHit[] {
  const sorted = [...hits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: ScoredHit[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    let end = sorted[i]!.end;
    while (j < sorted.length && sorted[j]!.start - end <= rules.clusterGap) {
      end = Math.max(end, sorted[j]!.end);
      j++;
    }
    const best = new Map<string, number>();
    for (let k = i; k < j; k++) {
      const h = sorted[k]!;
      const base = h.rule.split('+')[0]!;
      best.set(base, Math.max(best.get(base) ?? 0, h.weight));
    }
    let score = 0;
    for (const w of best.values()) score += w;
    const clusterSeverity: Severity = score >= rules.thresholds.high ? 'high' : score >= rules.thresholds.medium ? 'medium' : 'low';
    for (let k = i; k < j; k++) out.push({ ...sorted[k]!, severity: maxSeverity(sorted[k]!.floor, clusterSeverity) });
    i = j;
  }
  return out;
}
