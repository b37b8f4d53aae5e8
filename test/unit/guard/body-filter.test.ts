import fc from 'fast-check';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GuardBlockedError } from '../../../src/errors.ts';
import { createRequestBodyFilter } from '../../../src/guard/body-filter.ts';
import type { GuardStage } from '../../../src/guard/types.ts';
import { chunk, exchange, newGuard, rand, runFilter, scanCtx, settings } from './helpers.ts';

const guard = newGuard(4096);
const small = settings({ maxBufferedBytes: 8192 });

function filler(n: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'lorem', 'ipsum', 'dolor', 'sit', 'amet', '{"k": 12}', 'uuid 3f2b6c1e-8d4a-4b1f-9c3e-2a7d5e9f1b0c'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7) % words.length] + (i % 13 === 0 ? '\n' : ' ');
  return s.slice(0, n);
}

describe('streaming request body (larger than maxBufferedBytes)', () => {
  it('a secret split across chunk boundaries mid-body fails the stream, and nothing emitted holds any part of it', async () => {
    const secret = `ghp_${rand(36)}`;
    const body = Buffer.from(filler(60_000) + ` ${secret} ` + filler(60_000));
    const at = body.indexOf(secret);
    const chunks = [body.subarray(0, at + 5), body.subarray(at + 5, at + 20), body.subarray(at + 20)];
    const f = guard.requestBody(exchange(small), 'text/plain', '')!;
    const r = await runFilter(f, chunks);
    expect(r.error).toBeInstanceOf(GuardBlockedError);
    expect(r.out.length).toBeGreaterThan(0);
    expect(r.out.length).toBeLessThanOrEqual(at);
    for (let n = 4; n <= secret.length; n++) expect(r.out.includes(secret.slice(0, n))).toBe(false);
    expect(f.report().verdict).toBe('block');
    expect(f.report().findings).toContainEqual({ rule: 'secret/github-pat', kind: 'source_token', location: 'body', action: 'block' });
  });

  it('the same body without the secret passes byte-identical', async () => {
    const body = Buffer.from(filler(60_000) + 'é ü 한국어 ' + filler(60_000));
    const f = guard.requestBody(exchange(small), 'text/plain', '')!;
    const r = await runFilter(f, chunk(body, [777, 3, 4096]));
    expect(r.error).toBeNull();
    expect(r.out.equals(body)).toBe(true);
    expect(f.report().verdict).toBe('pass');
  });

  it('binary bytes (invalid UTF-8) pass unchanged', async () => {
    const body = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 131) % 256));
    const r = await runFilter(guard.requestBody(exchange(small), 'application/octet-stream', '')!, chunk(body, [1000]));
    expect(r.error).toBeNull();
    expect(r.out.equals(body)).toBe(true);
  });

  it('redaction in a streamed body is applied across the emission cut', async () => {
    const mail = 'jane.roe@acme-corp.io';
    const body = filler(4096 - 10) + ` ${mail} ` + filler(30_000);
    const r = await runFilter(guard.requestBody(exchange(small), 'text/plain', '')!, chunk(Buffer.from(body), [100]));
    expect(r.error).toBeNull();
    expect(r.out.toString()).toBe(body.replace(mail, '[REDACTED:email]'));
  });

  it('findings do not depend on how the body is chunked', async () => {
    const secret = `ghp_${rand(36)}`;
    const mail = 'jane.roe@acme-corp.io';
    const base = filler(20_000);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 19_000 }), fc.integer({ min: 0, max: 19_000 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 5 }), async (p1, p2, sizes) => {
        const body = base.slice(0, p1) + ` ${mail} ` + base.slice(p1, p2 > p1 ? p2 : p1) + ` key: ${secret} ` + base.slice(p2 > p1 ? p2 : p1);
        const relaxed = settings({ maxBufferedBytes: 1024, secrets: 'log' });
        const runs = await Promise.all(
          [[body.length], sizes].map(async (s) => {
            const f = guard.requestBody(exchange(relaxed), 'text/plain', '')!;
            const r = await runFilter(f, chunk(Buffer.from(body), s));
            expect(r.error).toBeNull();
            return { findings: f.findings!().map((x) => `${x.rule}@${x.span[0]}-${x.span[1]}`), out: r.out.toString() };
          }),
        );
        expect(runs[1]).toEqual(runs[0]);
        expect(runs[0]!.findings).toContain(`secret/github-pat@${body.indexOf(secret)}-${body.indexOf(secret) + secret.length}`);
      }),
      { numRuns: 25 },
    );
  });
});

describe('Content-Encoding', () => {
  const text = JSON.stringify({ note: 'reach me at jane.roe@acme-corp.io', pad: filler(2000) });
  const cases: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => zlib.gzipSync(b)],
    ['deflate', (b) => zlib.deflateSync(b)],
    ['br', (b) => zlib.brotliCompressSync(b)],
    ['zstd', (b) => zlib.zstdCompressSync(b)],
  ];
  for (const [enc, compress] of cases) {
    it(`${enc} is decoded, scanned and emitted as identity`, async () => {
      const f = guard.requestBody(exchange(), 'application/json', enc)!;
      expect(f.outputEncoding).toBe('identity');
      const r = await runFilter(f, chunk(compress(Buffer.from(text)), [50]));
      expect(r.error).toBeNull();
      expect(JSON.parse(r.out.toString()).note).toBe('reach me at [REDACTED:email]');
    });
  }

  it('raw DEFLATE (no zlib header) is decoded too', async () => {
    const r = await runFilter(guard.requestBody(exchange(), 'text/plain', 'deflate')!, [zlib.deflateRawSync(Buffer.from('plain text'))]);
    expect(r.out.toString()).toBe('plain text');
  });

  it('stacked encodings are undone in reverse order', async () => {
    const body = zlib.brotliCompressSync(zlib.gzipSync(Buffer.from('hello world')));
    const r = await runFilter(guard.requestBody(exchange(), 'text/plain', 'gzip, br')!, [body]);
    expect(r.out.toString()).toBe('hello world');
  });

  it('a decompression bomb is blocked with bounded memory, never expanded', async () => {
    const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 128 }, () => member)); // 2 GiB decoded
    const before = process.memoryUsage().rss;
    const f = guard.requestBody(exchange(settings({ maxDecodedBytes: 1024 * 1024 })), 'text/plain', 'gzip')!;
    const r = await runFilter(f, chunk(bomb, [64 * 1024]));
    expect(r.error).toBeInstanceOf(GuardBlockedError);
    expect(f.report().findings).toContainEqual(expect.objectContaining({ rule: 'decode/too-large', kind: 'decompression_bomb' }));
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('more than three layers, an unknown coding and corrupt data are blocked', async () => {
    const four = await runFilter(guard.requestBody(exchange(), 'text/plain', 'gzip, gzip, gzip, gzip')!, [Buffer.from('x')]);
    expect(four.error).toBeInstanceOf(GuardBlockedError);
    const unknown = await runFilter(guard.requestBody(exchange(), 'text/plain', 'compress')!, [Buffer.from('x')]);
    expect(unknown.error).toBeInstanceOf(GuardBlockedError);
    const corrupt = await runFilter(guard.requestBody(exchange(), 'text/plain', 'gzip')!, [Buffer.from('not gzip at all')]);
    expect(corrupt.error).toBeInstanceOf(GuardBlockedError);
  });

  it('an unknown coding passes scanned-as-is when the host allows it', async () => {
    const f = guard.requestBody(exchange(settings({ allowUnknownEncoding: true })), 'text/plain', 'compress')!;
    expect(f.outputEncoding).toBe('compress');
    const r = await runFilter(f, [Buffer.from('abc')]);
    expect(r.out.toString()).toBe('abc');
  });
});

describe('format-keeping redaction', () => {
  it('JSON with injected emails stays valid JSON (property)', async () => {
    const mail = fc.constantFrom('jane.roe@acme-corp.io', 'a.b+c@mail.co.uk', 'x_y@sub.domain.org');
    const withMail = fc.tuple(fc.string(), mail, fc.string()).map(([a, m, b]) => `${a} ${m} ${b}`);
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, withMail, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.string(), withMail), tie('v'), { maxKeys: 4 })),
    })).v;
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const text = JSON.stringify(v);
        const f = guard.requestBody(exchange(), 'application/json', '')!;
        const r = await runFilter(f, [Buffer.from(text)]);
        if (r.error) throw r.error;
        const parsed: unknown = JSON.parse(r.out.toString());
        expect(JSON.stringify(parsed)).not.toMatch(/acme-corp\.io|mail\.co\.uk|sub\.domain\.org/);
      }),
      { numRuns: 150 },
    );
  });

  it('escaped JSON cannot hide a token, and a card-number JSON number becomes a string', async () => {
    const token = `ghp_${rand(36)}`;
    const escaped = JSON.stringify({ t: token }).replace('ghp_', '\\u0067hp_');
    const r1 = await runFilter(guard.requestBody(exchange(), 'application/json', '')!, [Buffer.from(escaped)]);
    expect(r1.error).toBeInstanceOf(GuardBlockedError);
    const r2 = await runFilter(guard.requestBody(exchange(), 'application/json', '')!, [Buffer.from('{"card": 4539578763621486, "n": 1}')]);
    expect(JSON.parse(r2.out.toString())).toEqual({ card: '[REDACTED:card]', n: 1 });
  });

  it('form stays form; NDJSON stays one JSON per line; multipart keeps its boundaries', async () => {
    const form = await runFilter(guard.requestBody(exchange(), 'application/x-www-form-urlencoded', '')!, [Buffer.from('a=1&mail=jane.roe%40acme-corp.io&b=2')]);
    expect(new URLSearchParams(form.out.toString()).get('mail')).toBe('[REDACTED:email]');
    const nd = await runFilter(guard.requestBody(exchange(), 'application/x-ndjson', '')!, [Buffer.from('{"a":"jane.roe@acme-corp.io"}\n{"b":2}\n')]);
    expect(nd.out.toString().trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ a: '[REDACTED:email]' }, { b: 2 }]);
    const mp = '--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nmail jane.roe@acme-corp.io\r\n--XyZ--\r\n';
    const m = await runFilter(guard.requestBody(exchange(), 'multipart/form-data; boundary=XyZ', '')!, [Buffer.from(mp)]);
    expect(m.out.toString()).toBe(mp.replace('jane.roe@acme-corp.io', '[REDACTED:email]'));
  });

  it('a latin1 body is decoded by its charset and re-encoded in it', async () => {
    const body = Buffer.from('café jane.roe@acme-corp.io', 'latin1');
    const r = await runFilter(guard.requestBody(exchange(), 'text/plain; charset=iso-8859-1', '')!, [body]);
    expect(r.out.equals(Buffer.from('café [REDACTED:email]', 'latin1'))).toBe(true);
  });

  it('UTF-16 is decoded: a token in UTF-16 is still found', async () => {
    const body = Buffer.from(`token ghp_${rand(36)}`, 'utf16le');
    const r = await runFilter(guard.requestBody(exchange(), 'text/plain; charset=utf-16le', '')!, [body]);
    expect(r.error).toBeInstanceOf(GuardBlockedError);
  });
});

describe('fail closed and opt-out', () => {
  it('a stage that throws blocks', async () => {
    const broken: GuardStage = { id: 'broken', directions: ['request'], maxMatchLength: 10, accepts: () => true, scan: () => { throw new Error('bug'); } };
    const f = createRequestBodyFilter({ stages: [broken], ctx: scanCtx(), contentType: 'text/plain', contentEncoding: '' });
    const r = await runFilter(f, [Buffer.from('hello')]);
    expect(r.error).toBeInstanceOf(GuardBlockedError);
    expect(r.out.length).toBe(0);
  });

  it('request: off returns no filter and the head report says skipped', () => {
    const s = settings({ request: 'off' });
    expect(guard.requestBody(exchange(s), 'text/plain', '')).toBeNull();
    expect(guard.checkRequestHead(exchange(s), { target: '/', headers: [] }).report.skipped).toMatch(/off/);
  });
});

describe('binary request bodies are never rewritten', () => {
  // A fixed pseudo-random file (xorshift), so a failure reproduces; 8% of random 256 KiB uploads used to carry
  // an "email" such as K@q.Zr that was redacted, corrupting the upload.
  function randomFile(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n);
    let x = seed | 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  }
  const mail = Buffer.from(' contact jane.roe@acme-corp.io for access ');

  for (const contentType of ['application/octet-stream', 'application/zip', 'text/plain', '']) {
    it(`an email inside a binary file (${contentType || 'no type'}) is logged, and the file arrives byte-identical`, async () => {
      const file = Buffer.concat([randomFile(40_000, 7), mail, randomFile(40_000, 11)]);
      const f = guard.requestBody(exchange(settings()), contentType, '')!;
      const r = await runFilter(f, chunk(file, [1500]));
      expect(r.error).toBeNull();
      expect(r.out.equals(file)).toBe(true);
      expect(f.report().findings).toContainEqual({ rule: 'pii/email', kind: 'email', location: 'body', action: 'log' });
    });
  }

  it('a multipart upload carrying a binary file is not rewritten either (its file part would be corrupted)', async () => {
    const b = 'XyZboundary';
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nsee jane.roe@acme-corp.io\r\n--${b}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      randomFile(30_000, 9),
      mail,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    const r = await runFilter(guard.requestBody(exchange(settings()), `multipart/form-data; boundary=${b}`, '')!, [body]);
    expect(r.error).toBeNull();
    expect(r.out.equals(body)).toBe(true);
  });

  it('near miss: the same email in a text body is still redacted', async () => {
    const body = Buffer.concat([Buffer.from(filler(2000)), mail, Buffer.from(filler(2000))]);
    const r = await runFilter(guard.requestBody(exchange(settings()), 'text/plain', '')!, [body]);
    expect(r.error).toBeNull();
    expect(r.out.toString()).toContain('[REDACTED:email]');
  });

  it('a text body with a tab, line breaks and terminal colours is text, not binary (near miss)', async () => {
    const body = Buffer.from(`\x1b[32mok\x1b[0m\tline\r\n${mail.toString()}\f\n`);
    const r = await runFilter(guard.requestBody(exchange(settings()), 'text/plain', '')!, [body]);
    expect(r.out.toString()).toContain('[REDACTED:email]');
  });

  it('a secret set to redact inside a binary file is blocked instead: it must not leave, and the file is not cut', async () => {
    const token = `ghp_${rand(36)}`;
    const file = Buffer.concat([randomFile(20_000, 3), Buffer.from(` ${token} `), randomFile(20_000, 5)]);
    const f = guard.requestBody(exchange(settings({ secrets: 'redact' })), 'application/octet-stream', '')!;
    const r = await runFilter(f, [file]);
    expect(r.error).toBeInstanceOf(GuardBlockedError);
    expect(r.out.includes(Buffer.from(token.slice(0, 12)))).toBe(false);
    expect(f.report().verdict).toBe('block');
  });

  it('a card set to block inside a binary file still blocks: marking a body binary is no way around a block', async () => {
    const file = Buffer.concat([randomFile(20_000, 13), Buffer.from(' card 4111 1111 1111 1111 exp 12/29 '), randomFile(20_000, 17)]);
    const f = guard.requestBody(exchange(settings({ pii: { card: 'block' } })), 'application/octet-stream', '')!;
    const r = await runFilter(f, [file]);
    expect(r.error).toBeInstanceOf(GuardBlockedError);
    expect(f.report().findings).toContainEqual({ rule: 'pii/card', kind: 'card', location: 'body', action: 'block' });
  });

  it('random uploads pass unchanged (200 files of 64 KiB)', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const file = randomFile(65_536, seed * 2654435761);
      const r = await runFilter(guard.requestBody(exchange(settings()), 'application/octet-stream', '')!, [file]);
      expect(r.error).toBeNull();
      expect(r.out.equals(file)).toBe(true);
    }
  });
});
