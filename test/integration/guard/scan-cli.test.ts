// `sluice scan` as ops run it: a real process, stdin and files, the JSON contract of ARCHITECTURE.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, NODE } from '../../helpers/process.ts';
import { rand } from '../../unit/guard/helpers.ts';

function sluice(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-scan-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sluice scan', () => {
  it('--json on stdin: redacts PII and keeps JSON valid', async () => {
    const r = await sluice(['scan', '--request', '--content-type', 'application/json', '--json', '-'], '{"note":"mail jane.roe@acme-corp.io"}');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { verdict: string; findings: unknown[]; body: string };
    expect(out.verdict).toBe('redact');
    expect(out.findings).toEqual([{ rule: 'pii/email', kind: 'email', start: 14, end: 35 }]);
    expect(JSON.parse(out.body)).toEqual({ note: 'mail [REDACTED:email]' });
  });

  it('a file with a token blocks, and the output never contains the token', async () => {
    const token = `ghp_${rand(36)}`;
    const file = path.join(dir, 'body.txt');
    fs.writeFileSync(file, `deploy with ${token} please`);
    const r = await sluice(['scan', '--request', '--json', file], '');
    const out = JSON.parse(r.stdout) as { verdict: string; findings: Array<{ rule: string; start: number; end: number }> };
    expect(out.verdict).toBe('block');
    expect(out.findings[0]).toMatchObject({ rule: 'secret/github-pat', start: 12, end: 12 + token.length });
    expect(r.stdout).not.toContain(token);
  });

  it('--jsonl scans many bodies in one process, one line each, in order', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(i % 3 === 0 ? { text: `user${i}@acme-corp.io` } : i % 3 === 1 ? { text: `{"k":"sk_live_${rand(24)}"}`, contentType: 'application/json' } : { text: `plain ${i}` }));
    const r = await sluice(['scan', '--request', '--jsonl'], `${lines.join('\n')}\n`);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; body: string });
    expect(out).toHaveLength(300);
    expect(out.map((o) => o.verdict).slice(0, 3)).toEqual(['redact', 'block', 'pass']);
    expect(out[2]!.body).toBe('plain 2');
  });

  it('--config: the host\'s merged settings and ops rules apply; a non-linear regex is a located load error', async () => {
    const cfgDir = path.join(dir, 'cfg');
    fs.mkdirSync(path.join(cfgDir, 'policies'), { recursive: true });
    fs.writeFileSync(path.join(cfgDir, 'sluice.yaml'), 'policies: policies\n');
    fs.writeFileSync(
      path.join(cfgDir, 'policies', 'p.yaml'),
      [
        'guard:',
        '  rules:',
        '    - { id: acme-ticket, kind: internal_id, pattern: "ACME-([0-9]{6})", keywords: [acme-], action: redact }',
        'hosts:',
        '  - host: api.strict.test',
        '    guard: { pii: { email: block } }',
        '  - host: api.loose.test',
        '    guard: { disableRules: [acme-ticket] }',
        '',
      ].join('\n'),
    );
    const cfg = path.join(cfgDir, 'sluice.yaml');
    const strict = JSON.parse((await sluice(['scan', '--config', cfg, '--request', '--host', 'api.strict.test', '--json'], 'to jane.roe@acme-corp.io ACME-123456')).stdout) as { verdict: string };
    expect(strict.verdict).toBe('block');
    const loose = JSON.parse((await sluice(['scan', '--config', cfg, '--request', '--host', 'api.loose.test', '--json'], 'ticket ACME-123456')).stdout) as { verdict: string; body: string };
    expect(loose).toMatchObject({ verdict: 'pass', body: 'ticket ACME-123456' });
    const other = JSON.parse((await sluice(['scan', '--config', cfg, '--request', '--host', 'api.other.test', '--json'], 'ticket ACME-123456')).stdout) as { body: string };
    expect(other.body).toBe('ticket ACME-[REDACTED:internal_id]');
    fs.writeFileSync(path.join(cfgDir, 'policies', 'bad.yaml'), 'guard:\n  rules:\n    - { id: evil, pattern: "(a+)\\\\1" }\n');
    const bad = await sluice(['scan', '--config', cfg, '--request', '--json'], 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:\d+:\d+: .*rule evil: regex refused/);
  });

  it('human output, and usage errors exit 2', async () => {
    const r = await sluice(['scan', '--request'], 'call (415) 555-2671');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verdict: redact');
    expect(r.stdout).toContain('pii/phone (phone)');
    expect((await sluice(['scan'], '')).code).toBe(2);
    expect((await sluice(['scan', '--request', '--bogus'], '')).code).toBe(2);
  });
});
