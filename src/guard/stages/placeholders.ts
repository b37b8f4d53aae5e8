// A placeholder is only meaningful on the host bound to its secret, where it is replaced by the value. Sent
// anywhere else it means the agent was pointed at the wrong host (a look-alike domain, an injected
// instruction to "test the key" elsewhere): block it, naming the secret, so the operator sees the attempt.
import { placeholderForms } from '../../policy/credential.ts';
import type { CredentialSpec } from '../../policy/types.ts';
import type { Finding, GuardStage, ScanInput } from '../types.ts';

export const PLACEHOLDER_RULE = 'placeholder-misuse';

interface Entry {
  readonly secret: string;
  /** The placeholder as written, and percent-encoded with upper- and lower-case hex. */
  readonly forms: readonly string[];
}

function compile(specs: readonly CredentialSpec[]): { entries: Entry[]; maxLength: number } {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  let maxLength = 0;
  for (const s of specs) {
    const key = `${s.secret}\u0000${s.placeholder}`;
    if (s.placeholder === '' || seen.has(key)) continue;
    seen.add(key);
    const forms = placeholderForms(s.placeholder);
    maxLength = Math.max(maxLength, ...forms.map((f) => f.length));
    entries.push({ secret: s.secret, forms });
  }
  return { entries, maxLength };
}

export function createPlaceholderStage(credentials: () => readonly CredentialSpec[]): GuardStage {
  let compiledFor: readonly CredentialSpec[] | null = null;
  let compiled = compile([]);
  const current = (): ReturnType<typeof compile> => {
    const c = credentials();
    if (c !== compiledFor) {
      compiled = compile(c);
      compiledFor = c;
    }
    return compiled;
  };

  return {
    id: 'placeholders',
    directions: ['request'],
    accepts: (ctx) => ctx.direction === 'request' && current().entries.length > 0,
    get maxMatchLength() {
      return current().maxLength;
    },
    scan(input) {
      if (input.ctx.direction !== 'request') return [];
      const bound = input.ctx.boundSecret;
      const { entries } = current();
      // The common case: the only placeholder in the policy is the one bound here, so nothing can be misused.
      if (entries.every((e) => e.secret === bound)) return [];
      // The bound placeholder is allowed; a shorter unbound one inside it ("sluice:GH" in "sluice:GH_TOKEN")
      // is the same text, not a second placeholder.
      const allowed = entries.filter((e) => e.secret === bound).flatMap((e) => spans(input.text, e.forms));
      const out: Finding[] = [];
      for (const e of entries) {
        if (e.secret === bound) continue;
        for (const [start, end] of spans(input.text, e.forms)) {
          if (allowed.some(([a, b]) => a <= start && end <= b)) continue;
          out.push(finding(input, e.secret, start, end));
        }
      }
      return out;
    },
  };
}

function spans(text: string, forms: readonly string[]): [number, number][] {
  const out: [number, number][] = [];
  for (const f of forms) {
    for (let i = text.indexOf(f); i >= 0; i = text.indexOf(f, i + 1)) out.push([i, i + f.length]);
  }
  return out;
}

function finding(input: ScanInput, secret: string, start: number, end: number): Finding {
  return {
    rule: PLACEHOLDER_RULE,
    kind: `placeholder:${secret}`,
    severity: 'high',
    span: [input.offset + start, input.offset + end],
    action: 'block',
  };
}
