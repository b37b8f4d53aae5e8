import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRulePack } from '../../../src/guard/index.ts';
import { buildKeywordMatcher } from '../../../src/guard/rules/keywords.ts';

describe('keyword matcher', () => {
  // U+0161 and U+0162 have the low bytes of 'a' and 'b': the byte copy the filter reads must not turn them into hits.
  it('finds exactly the occurrences a naive case-insensitive search finds', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '_', '-'), minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.uniqueArray(word, { minLength: 1, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'B', 'c', '_', '-', 'x', 'é', '\u0161', '\u0162'), maxLength: 60 }), (kws, text) => {
        const m = buildKeywordMatcher(kws);
        const got: string[] = [];
        m.scan(text, (k, s) => got.push(`${k}@${s}`));
        const want: string[] = [];
        const lower = text.toLowerCase();
        kws.forEach((k, i) => {
          for (let at = lower.indexOf(k); at !== -1; at = lower.indexOf(k, at + 1)) want.push(`${i}@${at}`);
        });
        expect(got.sort()).toEqual(want.sort());
      }),
    );
  });

  // The filters hash folded grams of bytes read four at a time, in blocks of 16384 positions; the trie alone decides.
  // A fast path that dropped a real occurrence shows here as a miss against the plain search.
  const plain = (kws: readonly string[], text: string): string[] => {
    // Only A-Z fold: toLowerCase would also fold characters beyond ASCII, which the matcher never matches.
    const folded = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const hits: Array<readonly [at: number, length: number, id: number]> = [];
    kws.forEach((k, i) => {
      const lower = k.toLowerCase();
      for (let at = folded.indexOf(lower); at !== -1; at = folded.indexOf(lower, at + 1)) hits.push([at, k.length, i]);
    });
    hits.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
    return hits.map(([at, , i]) => `${i}@${at}`);
  };
  const found = (kws: readonly string[], text: string): string[] => {
    const got: string[] = [];
    buildKeywordMatcher(kws).scan(text, (k, s) => got.push(`${k}@${s}`));
    return got;
  };

  it('short and long keywords, in order, against characters that fold or copy onto keyword bytes', () => {
    // '`' folds as '@' does, '{' as '[', U+0140 and U+0161 copy as '@' and 'a'; NUL is what the filter pads with.
    const units = ['a', 'A', 'b', 'k', 'S', 's', '@', '`', '[', '{', '_', '-', '~', 'q', 'Q', ' ', '\0', '\u0140', '\u0161', '\u0100'];
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'k', 's', 'q', '@', '[', '_', '-', '~', ' '), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.uniqueArray(word, { minLength: 1, maxLength: 10, selector: (w) => w.toLowerCase() }), fc.string({ unit: fc.constantFrom(...units), maxLength: 80 }), (kws, text) => {
        expect(found(kws, text)).toEqual(plain(kws, text));
      }),
      { numRuns: 3000 },
    );
  });

  it('every default keyword, across block edges and at the very end, and its near misses', () => {
    const kws = [...new Set(defaultRulePack().flatMap((r) => r.keywords.map((k) => k.toLowerCase())))];
    const matcher = buildKeywordMatcher(kws);
    const filler = 'The deployment pipeline compiles the service, runs the unit tests. ';
    const head = filler.repeat(Math.ceil(16384 / filler.length) + 1);
    for (const kw of kws) {
      for (const at of [16381, 16383, 16384]) {
        for (const text of [head.slice(0, at) + kw, head.slice(0, at) + kw.toUpperCase() + filler]) {
          const got: string[] = [];
          matcher.scan(text, (k, s) => s >= at && got.push(`${k}@${s - at}`));
          expect(got).toEqual(plain(kws, text.slice(at)));
        }
      }
    }
    // One character changed (the first, a middle one, the last), and the keyword cut short at the end of the text.
    const other = (c: string | undefined) => (c === '#' ? '%' : '#');
    const misses = kws.flatMap((kw) => [0, kw.length >> 1, kw.length - 1].map((i) => kw.slice(0, i) + other(kw[i]) + kw.slice(i + 1)));
    const text = `${misses.join(' ')} ${kws[0]!.slice(0, -1)}`;
    expect(found(kws, text)).toEqual(plain(kws, text));
  });
});
