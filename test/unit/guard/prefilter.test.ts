import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { prefixFilter } from '../../../src/guard/rules/prefilter.ts';

const accepts = (re: RegExp, text: string) => {
  re.lastIndex = 0;
  return re.test(text);
};

describe('quick prefix filter of a secret rule', () => {
  it('accepts every text RE2 matches at its start (latin1 text, where it is used)', () => {
    const patterns = [
      'ab\\s*[:=]{1,2}c',
      '(?i)tok[a-z]{2,4}\\.x',
      'a.b\\S+c',
      '[^\\s]{3}x?y',
      '(x[0-9]{2})(?:z|$)',
      '(?:kt)o[\\w.\\-]{0,20}k',
      '(?m)^x\\d',
      '(?s)a.{2}b',
      'k\\x41\\-[^a-z]',
    ];
    const unit = fc.constantFrom('a', 'b', 'c', 'x', 'y', 'z', '0', '1', ' ', '\t', '\n', '\r', '\v', ':', '=', '.', '-', 'A', 'K', 'T', 'O', 'k', 't', 'o', '\u00e9', '\u00a0');
    for (const source of patterns) {
      const quick = prefixFilter(source);
      expect(quick, source).not.toBeNull();
      const re2 = RE2JS.compile(source);
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 16 }), (text) => {
          if (re2.matcher(text).lookingAt()) expect(accepts(quick!, text), `${source} on ${JSON.stringify(text)}`).toBe(true);
        }),
        { numRuns: 3000 },
      );
    }
  });

  it('translates RE2 classes exactly where JS differs', () => {
    // RE2's \S and '.' accept \v and \r, JS's \S and '.' do not.
    expect(accepts(prefixFilter('a\\Sb')!, 'a\vb')).toBe(true);
    expect(accepts(prefixFilter('a.b')!, 'a\rb')).toBe(true);
    expect(accepts(prefixFilter('(?i)token')!, 'TOKEN')).toBe(true);
    expect(accepts(prefixFilter('token[:=]')!, 'tokens')).toBe(false);
  });

  it('stops where it cannot be exact or cheap', () => {
    expect(prefixFilter('ab|cd')).toBeNull();
    expect(prefixFilter('(?:a+)+b')).toBeNull();
    expect(prefixFilter('[]a]x')).toBeNull();
    expect(prefixFilter('\\pLx')).toBeNull();
    // A leading ']' in a class is a literal in RE2: the prefix ends before the class.
    expect(prefixFilter('x[]a]')!.source).toBe('x');
    // The second unbounded repeat keeps only its required repetitions.
    expect(prefixFilter('a\\s*b\\d+c')!.source).toBe('a[\\t\\n\\f\\r ]{0,}b\\d{1}');
  });
});
