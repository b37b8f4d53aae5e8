// Shared by the request and response sides: run stages over one decoded text, merge their findings and
// apply redactions. A stage that throws produces a block finding: the guard fails closed.
import type { Action, Finding, GuardStage, ScanContext } from './types.ts';

const ACTION_RANK: Record<Action, number> = { log: 0, redact: 1, block: 2 };

export function scanText(stages: readonly GuardStage[], text: string, ctx: ScanContext, offset = 0): Finding[] {
  const out: Finding[] = [];
  for (const stage of stages) {
    try {
      for (const f of stage.scan({ text, offset, ctx })) out.push(f);
    } catch {
      out.push({ rule: `${stage.id}/error`, kind: 'stage_error', severity: 'critical', span: [offset, offset], action: 'block' });
    }
  }
  return out;
}

/** De-duplicate (same rule and span) and keep the strongest action for identical spans. */
export function resolveFindings(findings: readonly Finding[]): Finding[] {
  // Most scans find nothing, and one finding has nothing to merge: no Map for those (one per header and per
  // window otherwise, a measurable share of what a request allocates).
  if (findings.length < 2) return [...findings];
  const byKey = new Map<string, Finding>();
  for (const f of findings) {
    const key = `${f.rule}\u0000${f.span[0]}\u0000${f.span[1]}`;
    const seen = byKey.get(key);
    if (!seen || ACTION_RANK[f.action] > ACTION_RANK[seen.action]) byKey.set(key, f);
  }
  return [...byKey.values()].sort((a, b) => a.span[0] - b.span[0] || b.span[1] - a.span[1]);
}

export function strongestAction(findings: readonly Finding[]): Action | null {
  let best: Action | null = null;
  for (const f of findings) if (best === null || ACTION_RANK[f.action] > ACTION_RANK[best]) best = f.action;
  return best;
}

/**
 * Replace every redact span (absolute offsets; `offset` is the absolute position of text[0]) with its
 * replacement. Overlapping spans are merged into one replacement so no fragment of a secret survives.
 */
export function applyRedactions(text: string, findings: readonly Finding[], offset = 0): string {
  const spans = findings
    .filter((f) => f.action === 'redact' && f.span[1] > f.span[0])
    .map((f) => ({ start: Math.max(0, f.span[0] - offset), end: Math.min(text.length, f.span[1] - offset), replacement: f.replacement ?? `[REDACTED:${f.kind}]` }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
  if (spans.length === 0) return text;
  let out = '';
  let cursor = 0;
  let i = 0;
  while (i < spans.length) {
    const first = spans[i]!;
    let end = first.end;
    let j = i + 1;
    while (j < spans.length && spans[j]!.start < end) {
      end = Math.max(end, spans[j]!.end);
      j++;
    }
    out += text.slice(cursor, first.start) + first.replacement;
    cursor = end;
    i = j;
  }
  return out + text.slice(cursor);
}
