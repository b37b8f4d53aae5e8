// Sluice knows every value it can inject, so it can find them exactly (THREATS 2.6 and 2.7): a known value
// leaving in a request, to any host, is blocked (the agent read it somewhere and is sending it out); one
// coming back in a response (an upstream echoing headers, an error page quoting the token) is redacted
// before the agent reads it. Values shorter than MIN_KNOWN_SECRET_LENGTH are not searched: they would
// match ordinary text, and the store warns about them at startup.
import { escapedPattern, literalForms } from '../encodings.ts';
import { MIN_KNOWN_SECRET_LENGTH } from '../../secrets/names.ts';
import type { SecretValue } from '../../secrets/types.ts';
import type { Finding, GuardStage, ScanInput } from '../types.ts';

export const KNOWN_SECRET_RULE = 'known-secret';

interface Matcher {
  readonly name: string;
  readonly raw: string;
  readonly literals: readonly string[];
  readonly pattern: RegExp;
  readonly hasSpace: boolean;
}

interface Compiled {
  readonly matchers: readonly Matcher[];
  readonly maxLength: number;
}

function compile(values: readonly SecretValue[]): Compiled {
  const matchers: Matcher[] = [];
  let maxLength = 0;
  for (const v of values) {
    const raw = v.reveal();
    if (raw.length < MIN_KNOWN_SECRET_LENGTH) continue;
    const literals = literalForms(raw);
    const pattern = escapedPattern(raw);
    maxLength = Math.max(maxLength, pattern.maxLength, ...literals.map((l) => l.length));
    matchers.push({ name: v.name, raw, literals, pattern: new RegExp(pattern.source, 'g'), hasSpace: raw.includes(' ') });
  }
  return { matchers, maxLength };
}

export function createKnownSecretsStage(values: () => readonly SecretValue[]): GuardStage {
  // Forms are computed once per value set; the store hands out a new array only when a value changed.
  let compiledFor: readonly SecretValue[] | null = null;
  let compiled: Compiled = { matchers: [], maxLength: 0 };
  const current = (): Compiled => {
    const v = values();
    if (v !== compiledFor) {
      compiled = compile(v);
      compiledFor = v;
    }
    return compiled;
  };

  return {
    id: 'known-secrets',
    directions: ['request', 'response'],
    accepts: () => current().matchers.length > 0,
    get maxMatchLength() {
      return current().maxLength;
    },
    scan(input) {
      const out: Finding[] = [];
      const escaped = input.text.includes('%') || input.text.includes('\\');
      for (const m of current().matchers) {
        for (const form of m.literals) findLiteral(input, form, m.name, out);
        if (escaped || (m.hasSpace && input.text.includes('+'))) findPattern(input, m, out);
        else findLiteral(input, m.raw, m.name, out);
      }
      return out;
    },
  };
}

function finding(input: ScanInput, name: string, start: number, end: number): Finding {
  const response = input.ctx.direction === 'response';
  return {
    rule: KNOWN_SECRET_RULE,
    kind: `secret:${name}`,
    severity: 'critical',
    span: [input.offset + start, input.offset + end],
    action: response ? 'redact' : 'block',
    ...(response ? { replacement: `[REDACTED:${name}]` } : {}),
  };
}

function findLiteral(input: ScanInput, form: string, name: string, out: Finding[]): void {
  for (let i = input.text.indexOf(form); i >= 0; i = input.text.indexOf(form, i + 1)) {
    out.push(finding(input, name, i, i + form.length));
  }
}

function findPattern(input: ScanInput, m: Matcher, out: Finding[]): void {
  const re = m.pattern;
  re.lastIndex = 0;
  for (let hit = re.exec(input.text); hit !== null; hit = re.exec(input.text)) {
    out.push(finding(input, m.name, hit.index, hit.index + hit[0].length));
    re.lastIndex = hit.index + 1;
  }
}
