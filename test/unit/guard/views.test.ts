import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formView, jsonView, viewSpanToRaw } from '../../../src/guard/views.ts';

describe('decoded views', () => {
  it('a JSON view of any encoded string is the string, and spans map back onto whole escapes', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom('é', '한', '\n', '"', '\\', '/', '\t')) }), fc.nat(), fc.nat(), (s, a, b) => {
        const raw = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        const view = jsonView(raw, false);
        expect(view.text).toBe(`"${s}"`);
        // A span inside the string's content maps to raw text that decodes to exactly the span's text.
        const start = 1 + (a % (view.text.length - 1));
        const end = start + (b % (view.text.length - start));
        const [rs, re] = viewSpanToRaw(view, start, end);
        expect(JSON.parse(`"${raw.slice(rs, re)}"`)).toBe(view.text.slice(start, end));
      }),
    );
  });

  it('form view decodes %XX and + and maps back', () => {
    const raw = 'a=x%41KIA+b&c=%2F';
    const v = formView(raw);
    expect(v.text).toBe('a=xAKIA b&c=/');
    expect(viewSpanToRaw(v, 3, 7)).toEqual([3, 9]);
  });
});
