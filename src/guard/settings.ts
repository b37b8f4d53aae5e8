// Guard settings as written in policies (global `guard:` and per-host `guard:`). The guard module owns this
// shape; the policy module validates it with this schema and merges it with mergeGuardSettings.
import { RE2JS } from 're2js';
import { z } from 'zod';
import { disableIdProblem, mergedDisableIdProblem } from './rules/catalog.ts';

const action = z.enum(['block', 'redact', 'log', 'off']);

/**
 * A rule written by ops beside the policies. The pattern must compile in RE2 (linear time): a regex that
 * needs backtracking (backreferences, lookaround) is refused at load, so no policy can stall the proxy.
 */
export const customRuleSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][\w.-]*$/).describe('unique rule id, shown in findings as custom/ID'),
    kind: z.string().regex(/^[\w.-]+$/).default('custom').describe('finding kind (audit line, 403 body)'),
    pattern: z.string().min(1).describe('RE2 syntax; group 1, when present, is the part that is redacted'),
    keywords: z.array(z.string().min(2)).optional().describe('the pattern runs only near one of these (case-insensitive)'),
    action: z.enum(['block', 'redact', 'log']).default('block'),
    severity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const problem = re2Problem(rule.pattern);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `rule ${rule.id}: ${problem}` });
  });

export type CustomRule = z.infer<typeof customRuleSchema>;

/** Why RE2 refuses a pattern, or null when it compiles. */
export function re2Problem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (e) {
    return `regex refused by the linear-time engine (RE2 syntax only: no backreferences or lookaround): ${(e as Error).message}`;
  }
}

export const guardSettingsSchema = z
  .object({
    request: z.enum(['on', 'off']).optional().describe('"off" opts this host out of request body scanning (audited)'),
    response: z.enum(['sanitize', 'annotate', 'block', 'log', 'off']).optional(),
    secrets: action.optional().describe('secret patterns in requests'),
    pii: z
      .object({ email: action, phone: action, card: action, iban: action, ssn: action, krrn: action, ip: action })
      .partial()
      .strict()
      .optional()
      .describe('per PII kind; a misspelt kind is a load error, not a silent no-op'),
    maxBufferedBytes: z.number().int().positive().optional(),
    maxDecodedBytes: z.number().int().positive().optional(),
    disableRules: z.array(z.string()).optional().describe('rule ids as the audit line shows them (or their bare last part); an unknown id is a load error'),
    uploadDestination: z.boolean().optional().describe('large high-entropy uploads are expected here'),
    allowUnknownEncoding: z.boolean().optional(),
    exfil: action.optional().describe('env dumps, credential files, large high-entropy blobs'),
    rules: z.array(customRuleSchema).optional().describe('extra secret rules (RE2 patterns)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    (s.rules ?? []).forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` });
      seen.add(r.id);
    });
    (s.disableRules ?? []).forEach((id, i) => {
      const problem = disableIdProblem(id, seen);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['disableRules', i], message: problem });
    });
  });

export type GuardSettingsInput = z.infer<typeof guardSettingsSchema>;

export interface GuardSettings {
  readonly request: 'on' | 'off';
  readonly response: 'sanitize' | 'annotate' | 'block' | 'log' | 'off';
  readonly secrets: 'block' | 'redact' | 'log' | 'off';
  readonly pii: Readonly<Record<string, 'block' | 'redact' | 'log' | 'off'>>;
  readonly maxBufferedBytes: number;
  readonly maxDecodedBytes: number;
  readonly disableRules: readonly string[];
  readonly uploadDestination: boolean;
  readonly allowUnknownEncoding: boolean;
  /** Action for exfiltration heuristics (default block). Optional so hand-built settings stay valid. */
  readonly exfil?: 'block' | 'redact' | 'log' | 'off';
  /** Ops-written rules, global then host (accumulated). */
  readonly rules?: readonly CustomRule[];
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = Object.freeze({
  request: 'on',
  response: 'sanitize',
  secrets: 'block',
  pii: Object.freeze({}),
  maxBufferedBytes: 1024 * 1024,
  maxDecodedBytes: 64 * 1024 * 1024,
  disableRules: Object.freeze([]) as readonly string[],
  uploadDestination: false,
  allowUnknownEncoding: false,
  exfil: 'block',
  rules: Object.freeze([]) as readonly CustomRule[],
});

/** Later layers win key by key; pii maps merge per kind; disableRules and rules accumulate (a later rule with the same id replaces). */
function definedActions(pii: GuardSettingsInput['pii']): Record<string, 'block' | 'redact' | 'log' | 'off'> {
  const out: Record<string, 'block' | 'redact' | 'log' | 'off'> = {};
  for (const [kind, a] of Object.entries(pii ?? {})) if (a !== undefined) out[kind] = a;
  return out;
}

export function mergeGuardSettings(base: GuardSettings, ...layers: readonly (GuardSettingsInput | undefined)[]): GuardSettings {
  let out: GuardSettings = base;
  for (const l of layers) {
    if (!l) continue;
    out = {
      request: l.request ?? out.request,
      response: l.response ?? out.response,
      secrets: l.secrets ?? out.secrets,
      pii: { ...out.pii, ...definedActions(l.pii) },
      maxBufferedBytes: l.maxBufferedBytes ?? out.maxBufferedBytes,
      maxDecodedBytes: l.maxDecodedBytes ?? out.maxDecodedBytes,
      disableRules: [...out.disableRules, ...(l.disableRules ?? [])],
      uploadDestination: l.uploadDestination ?? out.uploadDestination,
      allowUnknownEncoding: l.allowUnknownEncoding ?? out.allowUnknownEncoding,
      exfil: l.exfil ?? out.exfil ?? 'block',
      rules: mergeRules(out.rules ?? [], l.rules ?? []),
    };
  }
  return Object.freeze(out);
}

function mergeRules(base: readonly CustomRule[], extra: readonly CustomRule[]): readonly CustomRule[] {
  if (extra.length === 0) return base;
  const ids = new Set(extra.map((r) => r.id));
  return Object.freeze([...base.filter((r) => !ids.has(r.id)), ...extra]);
}

/**
 * `disableRules` ids of merged settings that name no rule in scope (a bare custom id may refer to a rule from the
 * global layer, which the per-object schema check cannot see). `own` is the id's index in `ownList` (the layer
 * being compiled), or -1 when it came from another layer.
 */
export function unknownDisabledRules(merged: GuardSettings, ownList: readonly string[]): Array<{ id: string; own: number; message: string }> {
  const customIds = new Set((merged.rules ?? []).map((r) => r.id));
  const out: Array<{ id: string; own: number; message: string }> = [];
  for (const id of new Set(merged.disableRules)) {
    const problem = mergedDisableIdProblem(id, customIds);
    if (problem === null) continue;
    const own = ownList.indexOf(id);
    out.push({ id, own, message: own >= 0 ? problem : `${problem} (in the global guard settings)` });
  }
  return out;
}
