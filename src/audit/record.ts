// The one audit line per exchange. Records are built from an allowlist of fields, so nothing else (a header,
// a body, a secret) can slip into the log. The line bypasses pino's redact pass (writeInfoLine says why): the
// allowlist is the net here.
import type { AuditDecision } from '../errors.ts';
import type { AuditFinding } from '../guard/types.ts';
import { writeInfoLine, type Logger } from './logger.ts';

export const AUDIT_MSG = 'request';

export interface ExchangeRecord {
  decision: AuditDecision;
  agent: string;
  method: string;
  host: string;
  port: number;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  credential: string | null;
  findings: AuditFinding[];
  reason: string;
  mode?: 'inspect' | 'tunnel' | 'http';
  rule?: string | null;
  listener?: string;
  guardSkipped?: string;
}

const MAX_FIELD = 512;

/** Strip query values: keep the names (useful) but never the values (they may carry tokens or PII). */
export function redactQueryValues(pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  if (q < 0) return clip(pathAndQuery);
  const names = pathAndQuery
    .slice(q + 1)
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? p : `${p.slice(0, eq)}=[redacted]`;
    });
  return clip(`${pathAndQuery.slice(0, q)}?${names.join('&')}`);
}

function clip(s: string): string {
  return s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s;
}

export function writeAudit(log: Logger, record: ExchangeRecord): void {
  writeInfoLine(
    log,
    {
      decision: record.decision,
      agent: clip(record.agent),
      method: clip(record.method),
      host: clip(record.host),
      port: record.port,
      path: redactQueryValues(record.path),
      status: record.status,
      bytesIn: record.bytesIn,
      bytesOut: record.bytesOut,
      durationMs: Math.round(record.durationMs * 100) / 100,
      credential: record.credential,
      findings: record.findings.map((f) => ({ rule: clip(f.rule), kind: clip(f.kind), location: f.location, action: f.action })),
      reason: clip(record.reason),
      ...(record.mode ? { mode: record.mode } : {}),
      ...(record.rule !== undefined ? { rule: record.rule } : {}),
      ...(record.listener ? { listener: record.listener } : {}),
      ...(record.guardSkipped ? { guardSkipped: record.guardSkipped } : {}),
    },
    AUDIT_MSG,
  );
}
