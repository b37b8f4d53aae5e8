// The streaming scanner and redaction (THREATS 2.6, 2.7; ARCHITECTURE "Guard"): a finding must not depend on how the
// body is cut into chunks or TCP segments, and redacting a JSON response must leave valid JSON whenever the input
// was valid JSON. Driven through the real createGuard, with a small window so matches straddle window edges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardBlockedError } from '../../src/errors.ts';
import { drive, guardFixture, SECRET } from './support.ts';

const fx = guardFixture(128);

const FORMS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  base64: (s) => Buffer.from(s).toString('base64'),
  hex: (s) => Buffer.from(s).toString('hex'),
  percent: (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  jsonEscaped: (s) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
};

const filler = fc.string({ unit: fc.constantFrom(...'abcdefghij klmnop,.;:\n{}"[]=&'.split('')), maxLength: 600 });
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 });

async function requestVerdict(body: Buffer, at: readonly number[]): Promise<{ blocked: boolean; out: string }> {
  const filter = fx.guard.requestBody(fx.exchange(), 'text/plain', 'identity');
  if (!filter) throw new Error('the default guard must scan request bodies');
  const r = await drive(filter.stream, body, at);
  if (r.error && !(r.error instanceof GuardBlockedError)) throw r.error;
  return { blocked: r.error instanceof GuardBlockedError || filter.report().verdict === 'block', out: r.out.toString('latin1') };
}

describe('request scanning is independent of chunking', () => {
  it('a known secret in any encoding, anywhere, under any chunking, is blocked', async () => {
    await fc.assert(
      fc.asyncProperty(filler, filler, fc.constantFrom(...Object.keys(FORMS)), cuts, async (before, after, form, at) => {
        const body = Buffer.from(`${before} ${FORMS[form]!(SECRET)} ${after}`);
        const r = await requestVerdict(body, at);
        expect(r.blocked).toBe(true);
        expect(r.out).not.toContain(SECRET);
      }),
      { numRuns: 150 },
    );
  });

  it('for any body, the verdict and the forwarded bytes are the same whole or chunked', async () => {
    const body = fc.oneof(filler, fc.string({ maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 200 }));
    await fc.assert(
      fc.asyncProperty(body, cuts, async (text, at) => {
        const bytes = Buffer.from(text);
        const whole = await requestVerdict(bytes, []);
        const chunked = await requestVerdict(bytes, at);
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('response redaction keeps JSON valid', () => {
  /** A JSON document with the secret planted inside one of its strings (or as a key), escaped or not. */
  const planted = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.boolean(), fc.boolean()).map(([value, seed, asKey, escaped]) => {
    const text = JSON.stringify({ data: value, note: 'x' });
    const strings = [...text.matchAll(/"(?:[^"\\]|\\.)*"/g)];
    const target = strings[seed % strings.length]!;
    const inner = escaped ? FORMS['jsonEscaped']!(SECRET) : SECRET;
    const insertAt = target.index + 1 + (seed % Math.max(1, target[0].length - 1));
    const plant = (at: number) => text.slice(0, at) + inner + text.slice(at);
    // Never inside an escape (\" or \u00e9): step back until the planted document is still JSON; right after the
    // opening quote always is.
    let at = Math.min(insertAt, target.index + target[0].length - 1);
    while (at > target.index + 1 && !isJson(plant(at))) at--;
    return asKey ? `{"${inner}":${text}}` : plant(at);
  });

  it('output parses as JSON and never contains the secret, under any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(planted, cuts, async (json, at) => {
        expect(() => JSON.parse(json)).not.toThrow();
        const filter = fx.guard.responseBody(fx.exchange('bound.test', 'GET'), { status: 200, headers: [['content-type', 'application/json']] });
        if (!filter) throw new Error('JSON responses must be filtered');
        const r = await drive(filter.stream, Buffer.from(json), at);
        expect(r.error).toBeNull();
        const out = r.out.toString('utf8');
        expect(() => JSON.parse(out), out.slice(0, 300)).not.toThrow();
        expect(JSON.stringify(JSON.parse(out))).not.toContain(SECRET);
      }),
      { numRuns: 200 },
    );
  });

  it('near miss: JSON without the secret comes out valid and structurally the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), cuts, async (value, at) => {
        const json = JSON.stringify({ data: value });
        const filter = fx.guard.responseBody(fx.exchange('bound.test', 'GET'), { status: 200, headers: [['content-type', 'application/json']] })!;
        const r = await drive(filter.stream, Buffer.from(json), at);
        const out = JSON.parse(r.out.toString('utf8')) as unknown;
        expect(Object.keys(out as object)).toEqual(['data']);
      }),
      { numRuns: 150 },
    );
  });
});
