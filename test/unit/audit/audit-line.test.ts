// The audit line is written without pino's per-key pass (writeInfoLine). It must stay byte-for-byte the line
// pino would write for the same fields, so every reader of the log (the contract's log fields, jq pipelines)
// sees one format whichever path wrote it.
import { describe, expect, it } from 'vitest';
import { createLogger, writeInfoLine } from '../../../src/audit/logger.ts';
import { writeAudit, type ExchangeRecord } from '../../../src/audit/record.ts';

function capture(level = 'info') {
  const lines: string[] = [];
  const sink = { write: (s: string) => (lines.push(s), true) };
  return { lines, log: createLogger(level, sink as never) };
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"');

const record: ExchangeRecord = {
  decision: 'redact',
  agent: 'agent-1',
  method: 'POST',
  host: 'api.example.com',
  port: 443,
  path: '/v1/items?token=abc&x=1',
  status: 200,
  bytesIn: 1234,
  bytesOut: 99,
  durationMs: 12.3456,
  credential: 'EXAMPLE_TOKEN',
  findings: [{ rule: 'pii.email', kind: 'email', location: 'body', action: 'redact' }],
  reason: 'POST https://api.example.com/v1/items is allowed by "quotes" \\ and\nnewlines \u2028 é 😀',
  mode: 'inspect',
  rule: 'policies/a.yaml:3',
  listener: 'tcp:127.0.0.1:3128',
  guardSkipped: 'none',
};

describe('audit line', () => {
  it('is the line pino writes for the same fields, byte for byte (but the time)', () => {
    const a = capture();
    writeAudit(a.log, record);
    expect(a.lines).toHaveLength(1);
    const fields = JSON.parse(a.lines[0]!) as Record<string, unknown>;
    const { level: _l, time: _t, msg: _m, ...rest } = fields;
    const b = capture();
    b.log.info(rest, 'request');
    expect(withoutTime(a.lines[0]!)).toBe(withoutTime(b.lines[0]!));
    expect(a.lines[0]!.endsWith('}\n')).toBe(true);
    expect(fields).toMatchObject({ level: 'info', msg: 'request', path: '/v1/items?token=[redacted]&x=[redacted]', durationMs: 12.35 });
    expect(Date.parse(fields['time'] as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('carries a child logger\'s bindings as pino does', () => {
    const a = capture();
    const child = a.log.child({ component: 'proxy' });
    writeInfoLine(child, { n: 1, s: 'x' }, 'request');
    child.info({ n: 1, s: 'x' }, 'request');
    expect(a.lines).toHaveLength(2);
    expect(withoutTime(a.lines[0]!)).toBe(withoutTime(a.lines[1]!));
    expect(JSON.parse(a.lines[0]!)).toMatchObject({ component: 'proxy', n: 1 });
  });

  it('writes nothing when info is below the configured level', () => {
    const a = capture('warn');
    writeAudit(a.log, record);
    expect(a.lines).toEqual([]);
  });

  it('writes null for a non-finite number and leaves out undefined, as pino does', () => {
    const a = capture();
    writeInfoLine(a.log, { a: Number.NaN, b: undefined, c: 'k' }, 'request');
    a.log.info({ a: Number.NaN, b: undefined, c: 'k' }, 'request');
    expect(withoutTime(a.lines[0]!)).toBe(withoutTime(a.lines[1]!));
    expect(JSON.parse(a.lines[0]!)).toEqual({ level: 'info', time: expect.any(String), a: null, c: 'k', msg: 'request' });
  });

  it('other lines still go through pino\'s redaction', () => {
    const a = capture();
    a.log.info({ headers: { authorization: 'Bearer real-secret' }, token: 'tok-123' }, 'other');
    expect(a.lines[0]).not.toContain('real-secret');
    expect(a.lines[0]).not.toContain('tok-123');
    expect(JSON.parse(a.lines[0]!)).toMatchObject({ headers: { authorization: '[redacted]' }, token: '[redacted]' });
  });
});
