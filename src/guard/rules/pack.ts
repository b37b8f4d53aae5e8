// The secret rule pack: YAML data validated at startup. Every rule is anchored on one of its keywords (the
// match starts `lead` characters before the keyword), so a rule costs one short anchored RE2 attempt per
// keyword hit instead of a pass over the body.
import fs from 'node:fs';
import { RE2JS } from 're2js';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Severity } from '../types.ts';
import { prefixFilter } from './prefilter.ts';

const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    kind: z.string().regex(/^[a-z_]+$/),
    severity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
    keywords: z.array(z.string().min(2).regex(/^[\x20-\x7e]+$/)).min(1),
    /** Keywords must appear in this case (for short ones like "SK" that are common words in lower case). */
    caseSensitive: z.boolean().default(false),
    /** Fixed number of characters the match starts before the keyword. */
    lead: z.number().int().nonnegative().max(64).default(0),
    regex: z.string().min(1),
    /** Capture group holding the secret (the span reported and redacted); 0 is the whole match. */
    group: z.number().int().nonnegative().default(0),
    entropy: z.number().positive().optional(),
    maxLength: z.number().int().positive().max(16384).default(256),
    /** Secret values (RE2, anchored) that are known placeholders. */
    allow: z.array(z.string()).default([]),
    /** RE2 patterns tested against the 40 characters before the match plus the match (page_token, csrf…). */
    allowContext: z.array(z.string()).default([]),
  })
  .strict();

export const rulePackSchema = z.object({ rules: z.array(ruleSchema).min(1) }).strict();

export interface CompiledRule {
  readonly id: string;
  readonly kind: string;
  readonly severity: Severity;
  readonly keywords: readonly string[];
  readonly caseSensitive: boolean;
  readonly lead: number;
  /** The pattern began with \b: the character before the match must not be a word character. */
  readonly wordStart: boolean;
  readonly re: RE2JS;
  /** A sticky JS RegExp every match passes (on text of chars <= 0xff), tried first because it is cheap; or null. */
  readonly quick: RegExp | null;
  readonly group: number;
  readonly entropy: number | null;
  readonly maxLength: number;
  readonly allow: readonly RE2JS[];
  readonly allowContext: readonly RE2JS[];
}

export class RulePackError extends Error {}

function compile(id: string, what: string, source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (e) {
    throw new RulePackError(`rule ${id}: ${what} refused by RE2: ${(e as Error).message}`);
  }
}

function stripWordStart(regex: string): { source: string; wordStart: boolean } {
  const m = /^(\(\?[a-z]+\))?\\b/.exec(regex);
  if (!m) return { source: regex, wordStart: false };
  return { source: (m[1] ?? '') + regex.slice(m[0].length), wordStart: true };
}

/**
 * Compiled RE2 programs are large (the whole default pack held ~40 MB of heap) and most rules never see a keyword
 * hit in a given process. Each regex is compiled once at load to validate it (so a bad rule is still a load
 * error naming it), then dropped, and compiled again on first use.
 */
function lazily<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export function compileRule(r: z.infer<typeof ruleSchema>): CompiledRule {
  const { source, wordStart } = stripWordStart(r.regex);
  const groups = compile(r.id, 'regex', source).groupCount();
  if (r.group > groups) throw new RulePackError(`rule ${r.id}: group ${r.group} but the regex has ${groups} groups`);
  const allowSources = r.allow.map((a) => `^(?:${a})$`);
  for (const a of allowSources) compile(r.id, 'allow', a);
  for (const a of r.allowContext) compile(r.id, 'allowContext', a);
  const re = lazily(() => compile(r.id, 'regex', source));
  const quick = lazily(() => prefixFilter(source));
  const allow = lazily(() => allowSources.map((a) => compile(r.id, 'allow', a)));
  const allowContext = lazily(() => r.allowContext.map((a) => compile(r.id, 'allowContext', a)));
  return Object.freeze({
    get re() {
      return re();
    },
    get quick() {
      return quick();
    },
    get allow() {
      return allow();
    },
    get allowContext() {
      return allowContext();
    },
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    keywords: r.keywords.map((k) => (r.caseSensitive ? k : k.toLowerCase())),
    caseSensitive: r.caseSensitive,
    lead: r.lead,
    wordStart,
    group: r.group,
    entropy: r.entropy ?? null,
    maxLength: r.maxLength,
  });
}

/** Parse and compile a pack; every problem names the rule. */
export function compileRulePack(text: string, file: string): readonly CompiledRule[] {
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    throw new RulePackError(`${file}: ${(e as Error).message}`);
  }
  const parsed = rulePackSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const idx = issue.path[1];
    const rules = (data as { rules?: { id?: unknown }[] } | null)?.rules;
    const id = typeof idx === 'number' ? String(rules?.[idx]?.id ?? `#${idx}`) : '?';
    throw new RulePackError(`${file}: rule ${id}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const seen = new Set<string>();
  return Object.freeze(
    parsed.data.rules.map((r) => {
      if (seen.has(r.id)) throw new RulePackError(`${file}: duplicate rule id ${r.id}`);
      seen.add(r.id);
      return compileRule(r);
    }),
  );
}

export const DEFAULT_PACK_FILE = new URL('./secrets.yaml', import.meta.url);

export function loadDefaultRulePack(): readonly CompiledRule[] {
  return compileRulePack(fs.readFileSync(DEFAULT_PACK_FILE, 'utf8'), 'secrets.yaml');
}
