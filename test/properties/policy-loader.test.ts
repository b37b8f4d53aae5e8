// The policy loader (THREATS 2.12): any YAML text either loads or yields located problems (file:line:col with a
// message), and never throws. Generated from mutations of a real policy (the inputs an operator's typo produces)
// and from arbitrary text, written to real files in a temp dir and loaded with loadPolicy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/index.ts';

const VALID = `# a realistic policy
hosts:
  - host: api.github.com
    ports: [443]
    allow:
      - { methods: [GET, POST], paths: ["/repos/**", "/user"] }
    credential:
      secret: GITHUB_TOKEN
      format: "Bearer {secret}"
  - host: "*.wild.allowed.test"
    mode: tunnel
  - host: 10.1.2.0/24
    allowPrivate: [10.1.2.0/24]
  - host: llm.test
    websocket: true
    guard: { response: annotate, pii: { email: redact }, rules: [{ id: r1, pattern: "tok_[a-z]{8}" }] }
guard:
  secrets: block
message: ask the operator
`;

const YAML_BITS = ['\n', ' ', '  ', '-', ':', ': ', '"', "'", '[', ']', '{', '}', ',', '#', '&a', '*a', '!!str', '|', '>', '? ', '%YAML 1.2\n', '---\n', '...\n', '\t', '\u0000', '\ufeff', '💥', 'host', 'hosts', 'ports', '99999', '-1', 'null', '~', 'true', '<<: *a', '0x1F', '1e9999', '*'];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bit: fc.constantFrom(...YAML_BITS) }),
  fc.record({ kind: fc.constant('dupline' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swaplines' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation = { kind: string; at: number; len?: number; bit?: string; with?: number };

function mutate(text: string, ms: readonly Mutation[]): string {
  let t = text;
  for (const m of ms) {
    const at = t.length === 0 ? 0 : m.at % t.length;
    const lines = t.split('\n');
    if (m.kind === 'delete') t = t.slice(0, at) + t.slice(at + m.len!);
    else if (m.kind === 'insert') t = t.slice(0, at) + m.bit! + t.slice(at);
    else if (m.kind === 'truncate') t = t.slice(0, at);
    else if (m.kind === 'dupline') {
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      t = lines.join('\n');
    } else {
      const i = m.at % lines.length;
      const j = m.with! % lines.length;
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      t = lines.join('\n');
    }
  }
  return t;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-prop-loader-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function check(text: string, second?: string): void {
  const sub = fs.mkdtempSync(path.join(dir, 'case-'));
  fs.writeFileSync(path.join(sub, 'a.yaml'), text);
  if (second !== undefined) fs.writeFileSync(path.join(sub, 'b.yaml'), second);
  let result: ReturnType<typeof loadPolicy>;
  try {
    result = loadPolicy(sub, { globalAllowPrivate: [], agents: ['default'] });
  } catch (e) {
    throw new Error(`loadPolicy threw instead of returning located problems: ${(e as Error).stack}\n--- input ---\n${text}`);
  } finally {
    fs.rmSync(sub, { recursive: true, force: true });
  }
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const p of result.problems) {
    expect(p.file).toMatch(/[ab]\.yaml$/);
    expect(Number.isInteger(p.line) && p.line >= 1, JSON.stringify(p)).toBe(true);
    expect(Number.isInteger(p.col) && p.col >= 1, JSON.stringify(p)).toBe(true);
    expect(p.message.length).toBeGreaterThan(0);
  }
}

describe('policy loader properties', () => {
  it('near miss: the unmutated policy loads', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'valid-'));
    fs.writeFileSync(path.join(sub, 'a.yaml'), VALID);
    const r = loadPolicy(sub, { globalAllowPrivate: [], agents: ['default'] });
    expect(r.ok, r.ok ? '' : JSON.stringify(r.problems)).toBe(true);
  });

  it('any mutation of a valid policy loads or yields file:line:col problems, never a throw', () => {
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => check(mutate(VALID, ms))), { numRuns: 600 });
  });

  it('arbitrary text (including binary and unicode) loads or yields located problems', () => {
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.constantFrom(...YAML_BITS), { maxLength: 60 }).map((b) => b.join('')));
    fc.assert(fc.property(text, (t) => check(t)), { numRuns: 600 });
  });

  it('two mutated files merged together also never throw', () => {
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 4 }), fc.array(mutation, { maxLength: 4 }), (a, b) => check(mutate(VALID, a), mutate(VALID, b))),
      { numRuns: 200 },
    );
  });
});
