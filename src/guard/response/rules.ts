// Injection rules are data (src/guard/rules/injection*.yaml), compiled once into an immutable RuleSet.
// Patterns are re2js (linear time: a response is attacker-controlled, so no backtracking regex may see it).
// Keywords gate the patterns: one native literal-alternation pass finds candidate places, and a rule's
// patterns run only on a slice around its keywords, which keeps the response guard well above 50 MB/s.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { parse } from 'yaml';
import { z } from 'zod';
import { buildKeywordMatcher, type KeywordMatcher } from '../rules/keywords.ts';
import type { Severity } from '../types.ts';
import { nonAsciiRegions } from './unicode.ts';

const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    kind: z.string().min(1),
    languages: z.array(z.string()).min(1),
    severity: z.enum(['low', 'medium', 'high']),
    weight: z.number().positive(),
    keywords: z.array(z.string().min(2)).min(1),
    patterns: z.array(z.string().min(1)).min(1),
    maxLength: z.number().int().positive().max(1000).optional(),
    lookbehind: z.number().int().min(0).max(1000).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    version: z.literal(1),
    clusterGap: z.number().int().positive().optional(),
    thresholds: z.object({ medium: z.number().positive(), high: z.number().positive() }).strict().optional(),
    rules: z.array(ruleSchema),
  })
  .strict();

export interface InjectionRule {
  readonly id: string;
  readonly kind: string;
  readonly severity: Severity;
  readonly weight: number;
  readonly maxLength: number;
  /** How far before a keyword hit a match may start (patterns that lead with their keyword need ~2). */
  readonly lookbehind: number;
  readonly patterns: readonly RE2JS[];
}

/**
 * The keyword gate: one Aho-Corasick pass over a text finds every ASCII keyword (and every ROT13-encoded one),
 * whatever the number of rules; the few non-ASCII keywords (Korean, Russian, Japanese...) go through one native
 * literal alternation, run only on text that has a non-ASCII character at all.
 */
export interface KeywordGate {
  readonly ascii: KeywordMatcher;
  /** Rule indexes per AC keyword id; null for ROT13 keywords. */
  readonly rulesOf: ReadonlyArray<readonly number[] | null>;
  readonly nonAscii: NonAsciiGate | null;
}

/**
 * Non-ASCII keywords, found by one character class over their anchors (each keyword's first non-ASCII
 * character), then a sticky check of the few keywords with that anchor: a literal alternation of them all
 * cost irregexp an attempt per alternative at every character of Korean or Russian text.
 */
export interface NonAsciiGate {
  /** 1 for every code unit the anchors match (either case), as a table: a loop over it beats an irregexp class. */
  readonly anchors: Uint8Array;
  readonly byAnchor: ReadonlyMap<string, ReadonlyArray<AnchoredKeyword>>;
  /** Every anchored keyword: for a code unit the 'i' class folds onto an anchor that byAnchor has no key for. */
  readonly all: ReadonlyArray<AnchoredKeyword>;
}

interface AnchoredKeyword {
  readonly offset: number;
  readonly sticky: RegExp;
  readonly length: number;
  readonly rules: readonly number[];
}

export interface RuleSet {
  readonly rules: readonly InjectionRule[];
  /** Literal alternation over the non-ASCII keywords (kept for callers that want a native regex). */
  readonly gate: RegExp;
  /** Same keywords ROT13-encoded, to find ROT13 payloads without decoding every window. */
  readonly rot13Gate: RegExp;
  readonly keywordGate: KeywordGate;
  /** lower-case keyword -> indexes of rules it gates. */
  readonly byKeyword: ReadonlyMap<string, readonly number[]>;
  readonly clusterGap: number;
  readonly thresholds: { readonly medium: number; readonly high: number };
  readonly maxLength: number;
}

const DEFAULT_MAX_LENGTH = 300;

function escapeLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function rot13(s: string): string {
  return s.replace(/[a-zA-Z]/g, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/** Compile rule documents (already parsed YAML) into a RuleSet. Throws with the rule id on a bad pattern. */
export function compileRules(docs: readonly unknown[]): RuleSet {
  const rules: InjectionRule[] = [];
  const byKeyword = new Map<string, number[]>();
  let clusterGap = 400;
  let thresholds = { medium: 3, high: 6 };
  for (const doc of docs) {
    const parsed = fileSchema.parse(doc);
    clusterGap = parsed.clusterGap ?? clusterGap;
    thresholds = parsed.thresholds ?? thresholds;
    for (const r of parsed.rules) {
      const patterns = r.patterns.map((p) => {
        try {
          return RE2JS.compile(p, RE2JS.CASE_INSENSITIVE);
        } catch (e) {
          throw new Error(`injection rule ${r.id}: bad pattern: ${(e as Error).message}`);
        }
      });
      const index = rules.length;
      rules.push(Object.freeze({ id: r.id, kind: r.kind, severity: r.severity, weight: r.weight, maxLength: r.maxLength ?? DEFAULT_MAX_LENGTH, lookbehind: r.lookbehind ?? 2, patterns }));
      for (const k of r.keywords) {
        const key = k.toLowerCase();
        const list = byKeyword.get(key) ?? [];
        if (!list.includes(index)) list.push(index);
        byKeyword.set(key, list);
      }
    }
  }
  const keys = [...byKeyword.keys()].sort((a, b) => b.length - a.length);
  const gate = new RegExp(keys.map(escapeLiteral).join('|'), 'gi');
  const rotKeys = keys.filter((k) => /^[a-z ]{5,}$/.test(k)).map(rot13);
  const rot13Gate = new RegExp(rotKeys.length > 0 ? rotKeys.map(escapeLiteral).join('|') : '(?!)', 'gi');
  return Object.freeze({
    rules: Object.freeze(rules),
    gate,
    rot13Gate,
    keywordGate: buildGate(keys, rotKeys, byKeyword),
    byKeyword,
    clusterGap,
    thresholds: Object.freeze(thresholds),
    maxLength: Math.max(DEFAULT_MAX_LENGTH, ...rules.map((r) => r.maxLength)),
  });
}

function buildGate(keys: readonly string[], rotKeys: readonly string[], byKeyword: ReadonlyMap<string, readonly number[]>): KeywordGate {
  const ascii = keys.filter((k) => /^[\x20-\x7e]+$/.test(k));
  const other = keys.filter((k) => !/^[\x20-\x7e]+$/.test(k));
  return Object.freeze({
    ascii: buildKeywordMatcher([...ascii, ...rotKeys]),
    rulesOf: Object.freeze([...ascii.map((k) => byKeyword.get(k)!), ...rotKeys.map(() => null)]),
    nonAscii: other.length > 0 ? buildNonAsciiGate(other, byKeyword) : null,
  });
}

function buildNonAsciiGate(keys: readonly string[], byKeyword: ReadonlyMap<string, readonly number[]>): NonAsciiGate {
  const byAnchor = new Map<string, AnchoredKeyword[]>();
  for (const k of keys) {
    const offset = k.search(/[^\x00-\x7f]/);
    const anchor = k[offset]!;
    // The sticky check uses the same 'i' semantics as the anchor class, so both cases of an anchor are keyed.
    const entry = { offset, sticky: new RegExp(escapeLiteral(k), 'iy'), length: k.length, rules: byKeyword.get(k)! };
    for (const a of new Set([anchor, anchor.toLowerCase(), anchor.toUpperCase()])) byAnchor.set(a, [...(byAnchor.get(a) ?? []), entry]);
  }
  const chars = [...new Set(keys.map((k) => k[k.search(/[^\x00-\x7f]/)]!))].map(escapeLiteral).join('');
  const anchorClass = new RegExp(`[${chars}]`, 'i');
  const anchors = new Uint8Array(65536);
  for (let c = 0x80; c < 0x10000; c++) if (anchorClass.test(String.fromCharCode(c))) anchors[c] = 1;
  return Object.freeze({ anchors, byAnchor, all: [...new Set([...byAnchor.values()].flat())] });
}

/** Every keyword occurrence in `text`: rule indexes, start and end (overlapping occurrences included). */
export function forEachKeyword(rules: RuleSet, text: string, onHit: (ruleIds: readonly number[], start: number, end: number) => void, ascii = false, nonAscii: readonly number[] | null = null): void {
  const g = rules.keywordGate;
  const lengths = g.ascii.keywords;
  g.ascii.scan(text, (id, start) => {
    const ids = g.rulesOf[id];
    if (ids) onHit(ids, start, start + lengths[id]!.length);
  });
  forNonAscii(rules, text, onHit, ascii, nonAscii);
}

/** Every keyword occurrence (as forEachKeyword) and, in the same pass, every ROT13-encoded keyword (start, end). */
export function forEachKeywordAndRot13(rules: RuleSet, text: string, onHit: (ruleIds: readonly number[], start: number, end: number) => void, onRot13: (start: number, end: number) => void, ascii = false, nonAscii: readonly number[] | null = null): void {
  const g = rules.keywordGate;
  g.ascii.scan(text, (id, start) => {
    const ids = g.rulesOf[id];
    const end = start + g.ascii.keywords[id]!.length;
    if (ids) onHit(ids, start, end);
    else onRot13(start, end);
  });
  forNonAscii(rules, text, onHit, ascii, nonAscii);
}

/**
 * Non-ASCII keywords in `text`. `regions` (from the detection view, when it has them) hold every non-ASCII
 * character of the text; only the characters inside them are looked at.
 */
function forNonAscii(rules: RuleSet, text: string, onHit: (ruleIds: readonly number[], start: number, end: number) => void, ascii: boolean, regions: readonly number[] | null): void {
  const g = rules.keywordGate.nonAscii;
  if (g === null || ascii) return;
  let found = regions;
  if (found === null) {
    const own: number[] = [];
    nonAsciiRegions(text, own, null);
    found = own;
  }
  const { anchors } = g;
  for (let r = 0; r < found.length; r += 2) {
    const end = found[r + 1]!;
    for (let i = found[r]!; i < end; i++) if (anchors[text.charCodeAt(i)] === 1) matchAnchor(g, text, i, onHit);
  }
}

function matchAnchor(g: NonAsciiGate, text: string, i: number, onHit: (ruleIds: readonly number[], start: number, end: number) => void): void {
  const candidates = g.byAnchor.get(text[i]!) ?? g.all;
  for (const k of candidates) {
    const start = i - k.offset;
    if (start < 0) continue;
    k.sticky.lastIndex = start;
    if (k.sticky.test(text)) onHit(k.rules, start, start + k.length);
  }
}

/** Load every src/guard/rules/injection*.yaml (or those in `dir`). */
export function loadInjectionRules(dir = fileURLToPath(new URL('../rules/', import.meta.url))): RuleSet {
  const files = readdirSync(dir)
    .filter((f) => /^injection.*\.ya?ml$/.test(f))
    .sort();
  return compileRules(files.map((f) => parse(readFileSync(join(dir, f), 'utf8')) as unknown));
}

/** The built-in rule set, compiled once at import and frozen (no mutable module state). */
export const DEFAULT_INJECTION_RULES: RuleSet = loadInjectionRules();
