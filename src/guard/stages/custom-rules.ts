// Rules ops write in policies (guard.rules). Patterns were checked by RE2 at policy load; here they are
// compiled once per rule object (the loaded policy is immutable, so a WeakMap keyed by the rule is exact).
import { RE2JS } from 're2js';
import { disabledRules } from '../rules/catalog.ts';
import type { CustomRule } from '../settings.ts';
import type { Finding, GuardStage, ScanInput } from '../types.ts';

/** How far around a keyword hit an ops pattern is tried. */
const KEYWORD_REACH = 512;

export function createCustomRuleStage(): GuardStage {
  const compiled = new WeakMap<CustomRule, RE2JS>();
  const compile = (r: CustomRule): RE2JS => {
    let re = compiled.get(r);
    if (!re) {
      re = RE2JS.compile(r.pattern);
      compiled.set(r, re);
    }
    return re;
  };

  function scanRule(rule: CustomRule, text: string, lower: () => string, offset: number, out: Finding[]): void {
    const re = compile(rule);
    const group = re.groupCount() >= 1 ? 1 : 0;
    const seen = new Set<number>();
    const run = (from: number, to: number): void => {
      const m = re.matcher(text.slice(from, to));
      while (m.find()) {
        const s = m.start(group);
        const e = m.end(group);
        if (s < 0 || e <= s || seen.has(from + s)) continue;
        seen.add(from + s);
        out.push({ rule: `custom/${rule.id}`, kind: rule.kind, severity: rule.severity, span: [offset + from + s, offset + from + e], action: rule.action });
      }
    };
    if (!rule.keywords || rule.keywords.length === 0) return run(0, text.length);
    const l = lower();
    let covered = -1;
    for (const kw of rule.keywords) {
      const k = kw.toLowerCase();
      for (let at = l.indexOf(k); at !== -1; at = l.indexOf(k, at + 1)) {
        const from = Math.max(0, at - KEYWORD_REACH, covered);
        const to = Math.min(text.length, at + k.length + KEYWORD_REACH);
        if (to > from) run(from, to);
        covered = Math.max(covered, to - KEYWORD_REACH);
      }
    }
  }

  return {
    id: 'custom',
    directions: ['request'],
    maxMatchLength: 2 * KEYWORD_REACH,
    accepts: (ctx) => (ctx.settings.rules ?? []).length > 0,
    scan({ text, offset, ctx }: ScanInput): Finding[] {
      const rules = ctx.settings.rules ?? [];
      if (rules.length === 0) return [];
      const disabled = disabledRules(ctx.settings.disableRules);
      let lowered: string | null = null;
      const lower = (): string => (lowered ??= text.toLowerCase());
      const out: Finding[] = [];
      for (const rule of rules) {
        if (disabled.has(`custom/${rule.id}`)) continue;
        scanRule(rule, text, lower, offset, out);
      }
      return out;
    },
  };
}
