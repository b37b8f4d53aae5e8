import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { parseDotenv } from '../../../src/secrets/index.ts';

describe('parseDotenv', () => {
  it('reads the documented dialect', () => {
    const text = [
      '# comment',
      '',
      'PLAIN=abc123',
      '  SPACED =  padded value  ',
      'export EXPORTED=yes',
      "SINGLE='lit\\n $x # not a comment'",
      'DOUBLE="a\\nb\\t\\"q\\" \\\\ # kept"',
      'INLINE=value # trailing comment',
      'HASH=abc#def',
      'EMPTY=',
      'PEM="-----BEGIN KEY-----',
      'line2',
      '-----END KEY-----"',
      'AFTER=1',
    ].join('\n');
    const r = parseDotenv(text);
    expect(r.problems).toEqual([]);
    expect(Object.fromEntries(r.values)).toEqual({
      PLAIN: 'abc123',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      SINGLE: 'lit\\n $x # not a comment',
      DOUBLE: 'a\nb\t"q" \\ # kept',
      INLINE: 'value',
      HASH: 'abc#def',
      EMPTY: '',
      PEM: '-----BEGIN KEY-----\nline2\n-----END KEY-----',
      AFTER: '1',
    });
  });

  it('reports malformed lines by number without the value', () => {
    const r = parseDotenv('GOOD=1\nthis is not an assignment s3cr3t\nUNTERMINATED="abc');
    expect(r.problems.map((p) => p.line)).toEqual([2, 3]);
    for (const p of r.problems) expect(p.message).not.toContain('s3cr3t');
  });

  it('warns on a name defined twice and keeps the last', () => {
    const r = parseDotenv('A=1\nA=2\r\n');
    expect(r.values.get('A')).toBe('2');
    expect(r.warnings).toHaveLength(1);
    expect(r.problems).toHaveLength(0);
  });

  it('parses secrets.example cleanly', () => {
    const r = parseDotenv(fs.readFileSync(new URL('../../../secrets.example', import.meta.url), 'utf8'));
    expect(r.problems).toEqual([]);
    expect([...r.values.keys()]).toEqual(['GITHUB_TOKEN', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']);
  });
});
