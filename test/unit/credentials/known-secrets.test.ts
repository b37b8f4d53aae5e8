import { describe, expect, it } from 'vitest';
import { applyRedactions } from '../../../src/guard/apply.ts';
import { encodedForms } from '../../../src/guard/encodings.ts';
import { DEFAULT_GUARD_SETTINGS } from '../../../src/guard/settings.ts';
import { createKnownSecretsStage } from '../../../src/guard/stages/known-secrets.ts';
import type { Direction, ScanContext } from '../../../src/guard/types.ts';
import { MIN_KNOWN_SECRET_LENGTH, SecretValue } from '../../../src/secrets/index.ts';

const TOKEN = 'ghp_Secr3t/Value+with spaces&"q"';
const VALUES = Object.freeze([new SecretValue('GITHUB_TOKEN', TOKEN), new SecretValue('SHORT', 'abc1234')]);

function ctx(direction: Direction): ScanContext {
  return { direction, agent: 'a', host: 'h.example', contentType: 'text/plain', location: 'body', settings: DEFAULT_GUARD_SETTINGS, boundSecret: null };
}

const stage = createKnownSecretsStage(() => VALUES);
const scan = (text: string, direction: Direction = 'request', offset = 0) => stage.scan({ text, offset, ctx: ctx(direction) });

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

const ATTACKS: Record<string, string> = {
  raw: `x=${TOKEN}`,
  base64: `data=${b64(TOKEN)}`,
  'base64 inside a larger blob, offset 1': b64(`a${TOKEN}tail`),
  'base64 inside a larger blob, offset 2': b64(`ab${TOKEN}tail`),
  'basic auth': `Authorization: Basic ${b64(`user:${TOKEN}`)}`,
  base64url: Buffer.from(`zz${TOKEN}`).toString('base64url'),
  'hex lower': Buffer.from(TOKEN).toString('hex'),
  'hex upper': Buffer.from(TOKEN).toString('hex').toUpperCase(),
  'percent, every byte upper': [...Buffer.from(TOKEN)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  'percent, every byte lower': [...Buffer.from(TOKEN)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  encodeURIComponent: `?q=${encodeURIComponent(TOKEN)}`,
  'form encoding with +': `q=${encodeURIComponent(TOKEN).replaceAll('%20', '+')}`,
  'mixed percent': TOKEN.replace('S', '%53').replace('V', '%56'),
  'JSON string': JSON.stringify({ t: TOKEN }),
  'JSON \\u escapes everywhere': `"${[...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`).join('')}"`,
  'JSON \\u escapes mixed': `"${TOKEN.replace('g', '\\u0067').replace('/', '\\/')}"`,
};

describe('known-secret stage', () => {
  it.each(Object.entries(ATTACKS))('finds the value as %s and blocks it in a request', (_form, text) => {
    const f = scan(text);
    expect(f.length).toBeGreaterThan(0);
    for (const x of f) {
      expect(x).toMatchObject({ rule: 'known-secret', kind: 'secret:GITHUB_TOKEN', action: 'block' });
      expect(x.span[1] - x.span[0]).toBeLessThanOrEqual(stage.maxMatchLength);
    }
  });

  it('finds every form encodedForms lists', () => {
    for (const form of encodedForms(TOKEN)) expect(scan(`prefix ${form} suffix`).length, form).toBeGreaterThan(0);
  });

  it.each([
    ['same prefix, different value', TOKEN.slice(0, -1) + 'X'],
    ['truncated value', TOKEN.slice(0, -2)],
    ['base64 of a different value with the same prefix', b64(TOKEN.slice(0, -1) + 'X')],
    ['hex of a truncated value', Buffer.from(TOKEN.slice(0, -1)).toString('hex')],
    ['other case', TOKEN.toUpperCase()],
    ['a value shorter than the minimum is not searched', 'id=abc1234 and YWJjMTIzNA=='],
    ['ordinary text', 'GET /repos/octo/hello?page=2 {"name":"x"}'],
  ])('near miss: %s', (_what, text) => {
    expect(scan(text)).toEqual([]);
  });

  it('response direction: redacts with the name, across forms, with absolute spans', () => {
    const text = `echo: Bearer ${TOKEN} and ${b64(TOKEN)} end`;
    const f = scan(text, 'response', 1000);
    expect(f.every((x) => x.action === 'redact' && x.replacement === '[REDACTED:GITHUB_TOKEN]')).toBe(true);
    expect(f.every((x) => x.span[0] >= 1000)).toBe(true);
    const out = applyRedactions(text, f, 1000);
    expect(out).toBe('echo: Bearer [REDACTED:GITHUB_TOKEN] and [REDACTED:GITHUB_TOKEN] end');
  });

  it('sets maxMatchLength from the longest form and accepts only when it has a value to look for', () => {
    expect(stage.maxMatchLength).toBe([...TOKEN].length * 6);
    expect(stage.accepts(ctx('request'))).toBe(true);
    const empty = createKnownSecretsStage(() => []);
    expect(empty.accepts(ctx('request'))).toBe(false);
    expect(MIN_KNOWN_SECRET_LENGTH).toBe(8);
  });

  it('recompiles when the value set changes (rotation) and caches on the array identity', () => {
    let current: readonly SecretValue[] = [new SecretValue('K', 'first-value-1234')];
    const s = createKnownSecretsStage(() => current);
    const find = (t: string) => s.scan({ text: t, offset: 0, ctx: ctx('request') }).length;
    expect(find('first-value-1234')).toBe(1);
    current = [new SecretValue('K', 'second-value-5678')];
    expect(find('first-value-1234')).toBe(0);
    expect(find('second-value-5678')).toBe(1);
  });
});
