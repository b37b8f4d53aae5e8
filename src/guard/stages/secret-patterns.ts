// The secret-pattern stage: one Aho-Corasick pass finds keyword hits, and only the rules owning a hit
// get one anchored RE2 attempt at it. Adding rules adds keywords, not passes over the body.
import { disabledRules } from '../rules/catalog.ts';
import type { CompiledRule } from '../rules/pack.ts';
import { buildKeywordMatcher } from '../rules/keywords.ts';
import { isWordCode, looksLikePlaceholder, shannonEntropy } from '../entropy.ts';
import type { Action, Finding, GuardStage, ScanInput } from '../types.ts';

interface Candidate {
  readonly rule: number;
  /** The keyword as written when the rule is case-sensitive, else null. */
  readonly exact: string | null;
}

export const SECRET_RULE_PREFIX = 'secret/';


function acceptMatch(rule: CompiledRule, text: string, start: number, matchEnd: number, secret: string): boolean {
  if (looksLikePlaceholder(secret)) return false;
  if (rule.entropy !== null && shannonEntropy(secret) < rule.entropy) return false;
  for (const a of rule.allow) if (a.matcher(secret).matches()) return false;
  if (rule.allowContext.length > 0) {
    const around = text.slice(Math.max(0, start - 40), matchEnd);
    for (const a of rule.allowContext) if (a.matcher(around).find()) return false;
  }
  return true;
}

/** Characters the quick filters are not exact for (they are exact on latin1, which is all the byte domain holds). */
const BEYOND_LATIN1 = /[^\x00-\xff]/;

/**
 * One anchored attempt of `rule` at `start`; returns the secret's [start, end) in text or null. `latin1`: the
 * text has no character beyond 0xff, so the rule's quick filter may reject first.
 */
function tryRule(rule: CompiledRule, text: string, start: number, latin1: boolean): readonly [number, number] | null {
  if (start < 0) return null;
  if (rule.wordStart && start > 0 && isWordCode(text.charCodeAt(start - 1))) return null;
  const input = text.slice(start, start + rule.maxLength + 1);
  const quick = latin1 ? rule.quick : null;
  if (quick !== null) {
    quick.lastIndex = 0;
    if (!quick.test(input)) return null;
  }
  const m = rule.re.matcher(input);
  if (!m.lookingAt()) return null;
  const gs = m.start(rule.group);
  const ge = m.end(rule.group);
  if (gs < 0 || ge <= gs) return null;
  const secret = text.slice(start + gs, start + ge);
  return acceptMatch(rule, text, start, start + m.end(0), secret) ? [start + gs, start + ge] : null;
}

export function createSecretPatternStage(pack: readonly CompiledRule[]): GuardStage {
  const keywordIds = new Map<string, number>();
  const byKeyword: Candidate[][] = [];
  pack.forEach((rule, ri) => {
    for (const kw of rule.keywords) {
      const folded = kw.toLowerCase();
      let id = keywordIds.get(folded);
      if (id === undefined) {
        id = byKeyword.length;
        keywordIds.set(folded, id);
        byKeyword.push([]);
      }
      byKeyword[id]!.push({ rule: ri, exact: rule.caseSensitive ? kw : null });
    }
  });
  const matcher = buildKeywordMatcher([...keywordIds.keys()]);
  const maxMatchLength = Math.max(...pack.map((r) => r.maxLength + r.lead)) + 64;

  return {
    id: 'secret',
    directions: ['request'],
    maxMatchLength,
    accepts: (ctx) => ctx.settings.secrets !== 'off',
    scan({ text, offset, ctx }: ScanInput): Finding[] {
      const action = ctx.settings.secrets;
      if (action === 'off') return [];
      const out: Finding[] = [];
      let tried: Set<string> | null = null; // most texts never reach a multi-keyword rule
      const disabled = disabledRules(ctx.settings.disableRules);
      // A one-byte string never matches this, so the test costs nothing on byte-domain text.
      const latin1 = !BEYOND_LATIN1.test(text);
      matcher.scan(text, (kw, pos) => {
        for (const cand of byKeyword[kw]!) {
          const rule = pack[cand.rule]!;
          if (cand.exact !== null && !text.startsWith(cand.exact, pos)) continue;
          const start = pos - rule.lead;
          if (rule.keywords.length > 1) {
            const key = `${cand.rule}:${start}`;
            tried ??= new Set<string>();
            if (tried.has(key)) continue;
            tried.add(key);
          }
          if (disabled.any && disabled.has(SECRET_RULE_PREFIX + rule.id)) continue;
          const span = tryRule(rule, text, start, latin1);
          if (span) out.push(finding(rule, span, offset, action));
        }
      });
      return out;
    },
  };
}

function finding(rule: CompiledRule, span: readonly [number, number], offset: number, action: Exclude<Action, never>): Finding {
  return { rule: SECRET_RULE_PREFIX + rule.id, kind: rule.kind, severity: rule.severity, span: [offset + span[0], offset + span[1]], action };
}
