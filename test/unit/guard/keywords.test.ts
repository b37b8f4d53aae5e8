import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
});
