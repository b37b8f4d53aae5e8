import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonView } from '../../../src/guard/json-view.ts';
import { type EscapeMap, formView, viewSpanToRaw } from '../../../src/guard/views.ts';

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

  it('a byte-domain JSON view is the UTF-8 bytes of the string, with the same escapes as the text view', () => {
    const unit = fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom('é', '한', '😀', '\ud800', '\udc00', '\n', '"', '\\', '/', '\t', '\\x', '\\u12'));
    fc.assert(
      fc.property(fc.string({ unit }), (s) => {
        const raw = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        const bytes = jsonView(raw, true);
        const chars = jsonView(raw, false);
        expect(bytes.text).toBe(Buffer.from(`"${s}"`, 'utf8').toString('latin1'));
        const rawSpans = (e: EscapeMap | null) => Array.from({ length: e?.count ?? 0 }, (_, k) => [e!.get(k, 2), e!.get(k, 3)]);
        expect(rawSpans(bytes.escapes)).toEqual(rawSpans(chars.escapes));
      }),
    );
  });

  it('a byte-domain JSON view is the same when escapes fall on the 64 KiB blocks it decodes in', () => {
    for (let pad = 65520; pad < 65540; pad++) {
      const s = `${'a'.repeat(pad)}\u00e9\n😀${'b'.repeat(70000)}"\u2028`;
      const raw = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      const view = jsonView(raw, true);
      expect(view.text).toBe(Buffer.from(`"${s}"`, 'utf8').toString('latin1'));
      const at = view.text.indexOf('\n');
      expect(viewSpanToRaw(view, at, at + 1)).toEqual([raw.indexOf('\\n'), raw.indexOf('\\n') + 2]);
      const quote = view.text.lastIndexOf('"', view.text.length - 2);
      expect(viewSpanToRaw(view, quote, quote + 1)).toEqual([raw.lastIndexOf('\\"'), raw.lastIndexOf('\\"') + 2]);
    }
  });

  it('form view decodes %XX and + and maps back', () => {
    const raw = 'a=x%41KIA+b&c=%2F';
    const v = formView(raw);
    expect(v.text).toBe('a=xAKIA b&c=/');
    expect(viewSpanToRaw(v, 3, 7)).toEqual([3, 9]);
  });
});
