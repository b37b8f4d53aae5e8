// Every rule name the guard can report, so `disableRules` can be checked at policy load: a misspelt id that
// silently disables nothing is how an operator believes a rule is off (or on) when it is not. An id may be
// written as the audited name (`secret/github-pat`, `response/injection/override-ignore-previous`), its bare
// last part (`github-pat`, `override-ignore-previous`) or a family prefix (`secret`, `pii`, `response/injection`).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'ssn', 'krrn', 'ip'] as const;
export const EXFIL_RULES = ['env-dump', 'aws-credentials-file', 'kubeconfig', 'base64-blob', 'hex-blob', 'dns-label'] as const;
export const RESPONSE_RULES = ['hidden-unicode-run', 'invisible-unicode', 'markdown-image-exfil', 'markdown-link-exfil'] as const;
export const HTML_HIDDEN_REASONS = [
  'template', 'noscript', 'comment', 'hidden-attribute', 'aria-hidden', 'hidden-input', 'display-none', 'visibility-hidden', 'opacity-zero',
  'font-size-zero', 'offscreen', 'scaled-zero', 'clipped', 'zero-size', 'transparent-text', 'text-colour-of-background',
] as const;

const CUSTOM_ID = /^[A-Za-z0-9][\w.-]*$/;

function idsOf(file: URL): string[] {
  const doc = parse(readFileSync(file, 'utf8')) as { rules?: Array<{ id?: unknown }> } | null;
  return (doc?.rules ?? []).map((r) => String(r.id));
}

function auditedNames(): string[] {
  return [
    ...idsOf(new URL('./secrets.yaml', import.meta.url)).map((id) => `secret/${id}`),
    ...PII_KINDS.map((k) => `pii/${k}`),
    ...EXFIL_RULES.map((r) => `exfil/${r}`),
    ...idsOf(new URL('./injection.yaml', import.meta.url)).map((id) => `response/injection/${id}`),
    ...RESPONSE_RULES.map((r) => `response/${r}`),
    ...HTML_HIDDEN_REASONS.map((r) => `response/html-hidden/${r}`),
  ];
}

/** Every accepted spelling of every built-in rule: audited name, bare id and family prefixes. */
function spellings(names: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    out.add(name);
    out.add(name.slice(name.lastIndexOf('/') + 1));
    for (let j = name.indexOf('/'); j !== -1; j = name.indexOf('/', j + 1)) out.add(name.slice(0, j));
  }
  return out;
}

let builtIn: ReadonlySet<string> | null = null;

/** Built-in rule ids in every accepted spelling (read once per process from the shipped, immutable rule files). */
export function builtInRuleIds(): ReadonlySet<string> {
  builtIn ??= spellings(auditedNames());
  return builtIn;
}

/**
 * Why a `disableRules` id names no rule, or null. `custom/ID` always parses (the rule may be defined in another
 * policy layer; the merged check below sees it); a bare id that is no built-in is left to that merged check.
 */
export function disableIdProblem(id: string, ownCustomIds: ReadonlySet<string>): string | null {
  if (builtInRuleIds().has(id) || ownCustomIds.has(id)) return null;
  if (id === 'custom') return null;
  if (id.startsWith('custom/') && CUSTOM_ID.test(id.slice(7))) return null;
  if (!id.includes('/') && CUSTOM_ID.test(id)) return null;
  return unknownIdMessage(id);
}

/** For merged settings (global then host): a bare id must be a built-in rule or a custom rule defined in scope. */
export function mergedDisableIdProblem(id: string, customIds: ReadonlySet<string>): string | null {
  if (builtInRuleIds().has(id) || customIds.has(id) || id === 'custom') return null;
  if (id.startsWith('custom/')) return customIds.has(id.slice(7)) ? null : `disableRules: no custom rule "${id.slice(7)}" is defined for this host`;
  return unknownIdMessage(id);
}

function unknownIdMessage(id: string): string {
  return `disableRules: unknown rule id "${id}" (write a rule as the audit line shows it, e.g. secret/github-pat, pii/email, exfil/env-dump, response/injection/override-ignore-previous, custom/ID, or its bare last part)`;
}

/** A matcher over one settings' disableRules that accepts every spelling of a rule. */
export interface DisabledRules {
  readonly any: boolean;
  /** Is the rule with this audited name (suffixes like `+base64` ignored) disabled? */
  has(audited: string): boolean;
}

const NONE_DISABLED: DisabledRules = { any: false, has: () => false };

/**
 * Built once per list: a host's settings (and with them the list) live as long as the policy, and the stages
 * ask for every piece of text they scan, which is every header value of every request. Building the Set per
 * call was a tenth of the bytes allocated per small request (bench/profile.ts --heap).
 */
const built = new WeakMap<readonly string[], DisabledRules>();

export function disabledRules(list: readonly string[]): DisabledRules {
  if (list.length === 0) return NONE_DISABLED;
  let rules = built.get(list);
  if (rules === undefined) {
    rules = matcherFor(new Set(list));
    built.set(list, rules);
  }
  return rules;
}

function matcherFor(set: ReadonlySet<string>): DisabledRules {
  return {
    any: true,
    has(audited) {
      const plus = audited.indexOf('+');
      const name = plus === -1 ? audited : audited.slice(0, plus);
      if (set.has(name) || set.has(name.slice(name.lastIndexOf('/') + 1))) return true;
      for (let j = name.indexOf('/'); j !== -1; j = name.indexOf('/', j + 1)) if (set.has(name.slice(0, j))) return true;
      return false;
    },
  };
}
