// The request head: path and query (percent-decoded), header values and the hostname's labels, checked before
// any body byte is read. The Claude Code sandbox gap (anthropics/claude-code#40213) was exactly a token in a
// query string over plain HTTP. Redaction rewrites only the offending component; a finding in the hostname
// cannot be redacted (the name is where the request goes), so it blocks.
import { resolveFindings, scanText } from './apply.ts';
import { reportOf } from './body-filter.ts';
import { applyEdits, separatedEdits, type RawSpan } from './edits.ts';
import type { Finding, GuardReport, GuardStage, HeadResult, Location, RequestHead, ScanContext } from './types.ts';
import { formView, identityView, viewSpanToRaw, type View } from './views.ts';

interface Located extends Finding {
  readonly location: Location;
}

/** `ctx` is already at the view's location (one context per location per head, not one per header). */
function scanView(stages: readonly GuardStage[], ctx: ScanContext, view: View): Finding[] {
  const found = scanText(stages, view.text, ctx, 0);
  if (found.length === 0) return found;
  const out: Finding[] = [];
  for (const f of found) {
    const [s, e] = viewSpanToRaw(view, Math.min(f.span[0], view.text.length), Math.min(f.span[1], view.text.length));
    out.push({ ...f, span: [s, e] });
  }
  return resolveFindings(out);
}

function rewrite(raw: string, findings: readonly Finding[], protectedChars: RegExp | null, encode: (s: string) => string): string {
  const spans: RawSpan[] = findings.filter((f) => f.action === 'redact').map((f) => ({ start: f.span[0], end: f.span[1], replacement: f.replacement ?? `[REDACTED:${f.kind}]` }));
  if (spans.length === 0) return raw;
  const edits = protectedChars ? separatedEdits(raw, 0, spans, protectedChars, encode) : spans.map((s) => ({ ...s, replacement: encode(s.replacement) }));
  return applyEdits(raw, 0, 0, raw.length, edits, null).text;
}

const at = (ctx: ScanContext, location: Location): ScanContext => ({ ...ctx, location });

const located = (fs: readonly Finding[], location: Location): Located[] => fs.map((f) => ({ ...f, location }));

function checkTarget(stages: readonly GuardStage[], ctx: ScanContext, target: string): { target: string; findings: Located[] } {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? null : target.slice(q + 1);
  const pathFindings = scanView(stages, at(ctx, 'path'), formView(path, false));
  const queryFindings = query === null ? [] : scanView(stages, at(ctx, 'query'), formView(query, true));
  const newPath = rewrite(path, pathFindings, /[/?#]/, encodeURIComponent);
  const newQuery = query === null ? null : rewrite(query, queryFindings, /[&=#]/, encodeURIComponent);
  return { target: newQuery === null ? newPath : `${newPath}?${newQuery}`, findings: [...located(pathFindings, 'path'), ...located(queryFindings, 'query')] };
}

function checkHeaders(stages: readonly GuardStage[], ctx: ScanContext, headers: RequestHead['headers']) {
  const findings: Located[] = [];
  const headerCtx = at(ctx, 'header');
  const out = headers.map(([name, value]): readonly [string, string] => {
    if (name.toLowerCase() === 'host') return [name, value];
    const fs = scanView(stages, headerCtx, identityView(value));
    findings.push(...located(fs, 'header'));
    return [name, rewrite(value, fs, null, (s) => s)];
  });
  return { headers: out, findings };
}

/** A finding in the hostname blocks whatever its configured action: a name cannot be partly redacted. */
function checkHost(stages: readonly GuardStage[], ctx: ScanContext, host: string): Located[] {
  return scanView(stages, at(ctx, 'host'), identityView(host))
    .filter((f) => f.action !== 'log')
    .map((f) => ({ ...f, action: 'block' as const, location: 'host' as const }));
}

export function checkHead(stages: readonly GuardStage[], ctx: ScanContext, head: RequestHead, skipped: string | null): HeadResult {
  const t = checkTarget(stages, ctx, head.target);
  const h = checkHeaders(stages, ctx, head.headers);
  const hostFindings = checkHost(stages, ctx, ctx.host);
  const all = [...t.findings, ...h.findings, ...hostFindings];
  const base = reportOf(all, 'path');
  const report: GuardReport = {
    verdict: base.verdict,
    findings: all.map((f) => ({ rule: f.rule, kind: f.kind, location: f.location, action: f.action })),
    ...(skipped !== null ? { skipped } : {}),
  };
  return { report, head: { target: t.target, headers: h.headers } };
}
