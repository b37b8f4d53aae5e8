import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPlaceholderBodyTransform, replacePlaceholders } from '../../../src/forward/credentials.ts';
import { placeholderReplacements, replaceAllForms } from '../../../src/forward/placeholders.ts';
import type { CredentialSpec } from '../../../src/policy/types.ts';
import { SecretValue } from '../../../src/secrets/index.ts';

function spec(secret: string, over: Partial<CredentialSpec> = {}): CredentialSpec {
  return { secret, in: 'header', header: 'Authorization', format: 'Bearer {secret}', query: null, placeholder: `sluice:${secret}`, ...over };
}

const VALUE = 'sk-"quoted"\\back/slash&amp=1 ü';
const OPENAI = new SecretValue('OPENAI_API_KEY', VALUE);

async function run(chunks: readonly Buffer[], s: CredentialSpec, v: SecretValue, contentType: string): Promise<string> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    createPlaceholderBodyTransform(s, v, contentType),
    new Writable({
      write(c: Buffer, _e, done) {
        out.push(c);
        done();
      },
    }),
  );
  return Buffer.concat(out).toString('utf8');
}

describe('replacePlaceholders (head)', () => {
  it('replaces the placeholder in header values and in the target, raw and percent-encoded', () => {
    const r = replacePlaceholders(
      {
        target: '/v1/x?key=sluice:OPENAI_API_KEY&other=sluice%3AOPENAI_API_KEY&lower=sluice%3aOPENAI_API_KEY&keep=sluice:OTHER',
        headers: [
          ['x-api-key', 'sluice:OPENAI_API_KEY'],
          ['x-note', 'prefix sluice:OPENAI_API_KEY suffix'],
          ['accept', 'application/json'],
        ],
      },
      spec('OPENAI_API_KEY', { header: 'x-api-key', format: '{secret}' }),
      new SecretValue('OPENAI_API_KEY', 'sk-abc&d=e'),
    );
    expect(r.headers).toEqual([
      ['x-api-key', 'sk-abc&d=e'],
      ['x-note', 'prefix sk-abc&d=e suffix'],
      ['accept', 'application/json'],
    ]);
    const enc = encodeURIComponent('sk-abc&d=e');
    expect(r.target).toBe(`/v1/x?key=${enc}&other=${enc}&lower=${enc}&keep=sluice:OTHER`);
    expect(new URL(`http://h${r.target}`).searchParams.get('key')).toBe('sk-abc&d=e');
  });

  it('finds a placeholder that only the target carries, or only one header, in any of its spellings', () => {
    const value = new SecretValue('OPENAI_API_KEY', 'sk-abc&d=e');
    const enc = encodeURIComponent('sk-abc&d=e');
    const onlyTarget = replacePlaceholders({ target: '/x?lower=sluice%3aOPENAI_API_KEY', headers: [['accept', '*/*']] }, spec('OPENAI_API_KEY'), value);
    expect(onlyTarget).toEqual({ target: `/x?lower=${enc}`, headers: [['accept', '*/*']] });
    const onlyHeader = replacePlaceholders({ target: '/x', headers: [['accept', '*/*'], ['x-note', 'sluice%3AOPENAI_API_KEY']] }, spec('OPENAI_API_KEY'), value);
    expect(onlyHeader).toEqual({ target: '/x', headers: [['accept', '*/*'], ['x-note', enc]] });
  });

  it('leaves a head without the placeholder untouched (near miss: different case, other secret)', () => {
    const head = { target: '/?k=SLUICE:OPENAI_API_KEY', headers: [['x', 'sluice:OPENAI_API_KE'] as [string, string]] };
    expect(replacePlaceholders(head, spec('OPENAI_API_KEY'), OPENAI)).toEqual(head);
  });
});

describe('createPlaceholderBodyTransform', () => {
  const body = `{"model":"m","api_key":"sluice:OPENAI_API_KEY","url":"https://x/?k=sluice%3AOPENAI_API_KEY","n":1}`;
  const expected = JSON.stringify({ model: 'm', api_key: VALUE, url: `https://x/?k=${encodeURIComponent(VALUE)}`, n: 1 });

  it('JSON: the value is JSON-escaped, and the result parses back to the real value', async () => {
    const out = await run([Buffer.from(body)], spec('OPENAI_API_KEY'), OPENAI, 'application/json; charset=utf-8');
    expect(out).toBe(expected);
    expect(JSON.parse(out).api_key).toBe(VALUE);
  });

  it('JSON split across two chunks at every offset, and one byte at a time', async () => {
    const bytes = Buffer.from(body);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const out = await run([bytes.subarray(0, cut), bytes.subarray(cut)], spec('OPENAI_API_KEY'), OPENAI, 'application/json');
      expect(out, `cut at ${cut}`).toBe(expected);
    }
    const single = [...bytes].map((b) => Buffer.from([b]));
    expect(await run(single, spec('OPENAI_API_KEY'), OPENAI, 'application/json')).toBe(expected);
  });

  it('form body: percent-encoded value, both placeholder forms', async () => {
    const out = await run(
      [Buffer.from('a=1&key=sluice:OPENAI_API_KEY&b=sluice%3aOPENAI_API_KEY&c=2')],
      spec('OPENAI_API_KEY'),
      OPENAI,
      'application/x-www-form-urlencoded',
    );
    const params = new URLSearchParams(out);
    expect(params.get('key')).toBe(VALUE);
    expect(params.get('b')).toBe(VALUE);
    expect(params.get('c')).toBe('2');
  });

  it('other bodies: the raw value', async () => {
    const out = await run([Buffer.from('token: sluice:OPENAI_API_KEY\n')], spec('OPENAI_API_KEY'), OPENAI, 'text/plain');
    expect(out).toBe(`token: ${VALUE}\n`);
  });

  it('one pass: a value containing another placeholder, or its own, is not expanded again', async () => {
    const a = new SecretValue('A', 'va-sluice:B-sluice:A-end');
    const out = await run([Buffer.from('x sluice:A y sluice:A z')], spec('A'), a, 'text/plain');
    expect(out).toBe('x va-sluice:B-sluice:A-end y va-sluice:B-sluice:A-end z');
  });

  it('holds back at most placeholder.length-1 bytes (a body without placeholder streams through)', async () => {
    const t = createPlaceholderBodyTransform(spec('A'), new SecretValue('A', 'value-of-a'), 'text/plain');
    const seen: Buffer[] = [];
    t.on('data', (c: Buffer) => seen.push(c));
    const chunk = Buffer.alloc(1000, 'x');
    t.write(chunk);
    await new Promise((r) => setImmediate(r));
    // "sluice%3AA" is the longest form (10 bytes): all but 9 bytes are already out.
    expect(Buffer.concat(seen).length).toBe(1000 - 9);
    t.end();
    await new Promise((r) => t.on('end', r));
    expect(Buffer.concat(seen).length).toBe(1000);
  });

  it('near misses are left alone: truncated placeholder at the end, other case', async () => {
    const text = 'SLUICE:A sluice:B sluice:';
    expect(await run([Buffer.from(text)], spec('A'), new SecretValue('A', 'value-of-a'), 'text/plain')).toBe(text);
  });

  it('property: any chunking gives the same bytes as replacing the whole body at once', async () => {
    const piece = fc.constantFrom('sluice:A', 'sluice%3AA', 'sluice%3aA', 'sluice:', 'sluice', 'A', 'x', ' ', '%3A', 'é');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 30 }), fc.array(fc.nat(40), { maxLength: 8 }), async (pieces, cuts) => {
        const text = pieces.join('');
        const bytes = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i, all) => bytes.subarray(p, all[i + 1] ?? bytes.length));
        const value = new SecretValue('A', 'v"al&ue');
        const expected = replaceAllForms(text, placeholderReplacements('sluice:A', value.reveal(), 'json'));
        expect(await run(chunks, spec('A'), value, 'application/json')).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
