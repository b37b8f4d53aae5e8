// The secret rule pack: YAML data validated at startup. Every rule is anchored on one of its keywords (the
// match starts `lead` characters before the keyword), so a rule costs one short anchored RE2 attempt per
// keyword hit instead of a pass over the body.
import fs from 'node:fs';
import { RE2JS } from 're2js';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Severity } from '../types.ts';

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

export function compileRule(r: z.infer<typeof ruleSchema>): CompiledRule {
  const { source, wordStart } = stripWordStart(r.regex);
  const re = compile(r.id, 'regex', source);
  if (r.group > re.groupCount()) throw new RulePackError(`rule ${r.id}: group ${r.group} but the regex has ${re.groupCount()} groups`);
  return Object.freeze({
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    keywords: r.keywords.map((k) => (r.caseSensitive ? k : k.toLowerCase())),
    caseSensitive: r.caseSensitive,
    lead: r.lead,
    wordStart,
    re,
    group: r.group,
    entropy: r.entropy ?? null,
    maxLength: r.maxLength,
    allow: r.allow.map((a) => compile(r.id, 'allow', `^(?:${a})$`)),
    allowContext: r.allowContext.map((a) => compile(r.id, 'allowContext', a)),
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
