// Redaction that keeps the body's format. Spans (raw offsets) become edits: inside a JSON string the secret's
// characters are replaced, a JSON number or literal becomes a string, and structure (quotes, brackets, '&', '=')
// is never touched, so JSON stays JSON and a form stays a form. Edits carry across emitted chunks when a body
// streams, with the JSON lexer state carried beside them.

export type BodyFormat = 'json' | 'form' | 'text';

export interface RawSpan {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/** Whether raw text position is inside a JSON string, after lexing from a known state. */
export interface JsonLexState {
  inString: boolean;
}

const NUMBER_OR_LITERAL = /[0-9A-Za-z.+\-]/;

/** Merge overlapping spans; the first span's replacement stands for the union. */
export function mergeSpans(spans: readonly RawSpan[]): RawSpan[] {
  const sorted = [...spans].filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const out: RawSpan[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start < last.end) out[out.length - 1] = { ...last, end: Math.max(last.end, s.end) };
    else out.push(s);
  }
  return out;
}

/** Advance a JSON lexer over raw[from, to), returning the state at `to` (jumps between quotes with indexOf). */
export function lexJson(raw: string, from: number, to: number, state: JsonLexState): JsonLexState {
  let inString = state.inString;
  let i = from;
  while (i < to) {
    const q = raw.indexOf('"', i);
    if (q === -1 || q >= to) break;
    if (inString) {
      // The quote closes the string unless an odd run of backslashes escapes it.
      let slashes = 0;
      while (q - 1 - slashes >= i && raw.charCodeAt(q - 1 - slashes) === 92) slashes++;
      if (slashes % 2 === 0) inString = false;
    } else inString = true;
    i = q + 1;
  }
  return { inString };
}

/** Is raw[i, up to the next quote or e) made only of number/literal characters and whitespace/punctuation? */
function numberLike(raw: string, i: number, e: number): boolean {
  for (let j = i; j < e; j++) {
    const c = raw.charCodeAt(j);
    if (c === 34) return true;
    if (!NUMBER_OR_LITERAL.test(raw[j]!) && !JSON_PUNCTUATION.test(raw[j]!)) return false;
  }
  return true;
}

const JSON_PUNCTUATION = /[\s{}[\],:]/;

function jsonEdits(raw: string, base: number, spans: readonly RawSpan[], state: JsonLexState): Edit[] {
  const edits: Edit[] = [];
  let pos = 0;
  let st = state;
  for (const span of spans) {
    const s = span.start - base;
    const e = span.end - base;
    if (s < pos) continue;
    st = lexJson(raw, pos, s, st);
    let i = s;
    let inString = st.inString;
    while (i < e) {
      if (inString) {
        let j = i;
        while (j < e && raw.charCodeAt(j) !== 34) j += raw.charCodeAt(j) === 92 ? 2 : 1;
        j = Math.min(j, e);
        if (j > i) edits.push({ start: base + i, end: base + j, replacement: span.replacement });
        if (j < e) inString = false;
        i = j < e ? j + 1 : j;
      } else if (raw.charCodeAt(i) === 34) {
        inString = true;
        i++;
      } else if (!numberLike(raw, i, e)) {
        // Not a JSON token (the body is not JSON here): replace the characters themselves, up to the next string.
        let j = i;
        while (j < e && raw.charCodeAt(j) !== 34) j++;
        edits.push({ start: base + i, end: base + j, replacement: span.replacement });
        i = j;
      } else if (NUMBER_OR_LITERAL.test(raw[i]!)) {
        let a = i;
        while (a > 0 && NUMBER_OR_LITERAL.test(raw[a - 1]!)) a--;
        let b = i;
        while (b < raw.length && NUMBER_OR_LITERAL.test(raw[b]!)) b++;
        if (a >= pos) edits.push({ start: base + a, end: base + b, replacement: JSON.stringify(span.replacement) });
        i = b;
      } else i++;
    }
    pos = Math.max(i, s);
    st = { inString };
  }
  return edits;
}

const FORM_ESCAPED = (r: string) => encodeURIComponent(r);

export function separatedEdits(raw: string, base: number, spans: readonly RawSpan[], protectedChars: RegExp, encode: (r: string) => string): Edit[] {
  const edits: Edit[] = [];
  for (const span of spans) {
    let i = span.start - base;
    const e = span.end - base;
    while (i < e) {
      let j = i;
      while (j < e && !protectedChars.test(raw[j]!)) j++;
      if (j > i) edits.push({ start: base + i, end: base + j, replacement: encode(span.replacement) });
      i = j + 1;
    }
  }
  return edits;
}

/** Edits for raw text starting at absolute offset `base`; spans are absolute and must lie within raw. */
export function resolveEdits(format: BodyFormat, raw: string, base: number, spans: readonly RawSpan[], state: JsonLexState): Edit[] {
  const merged = mergeSpans(spans);
  switch (format) {
    case 'json':
      return jsonEdits(raw, base, merged, state);
    case 'form':
      return separatedEdits(raw, base, merged, /[&=]/, FORM_ESCAPED);
    case 'text':
      return merged.map((s) => ({ start: s.start, end: s.end, replacement: s.replacement }));
  }
}

/**
 * Rewrite raw[from, to) (absolute offsets; raw starts at `base`). An edit starting in the range emits its
 * replacement; the part of an edit beyond `to` is returned as `carry` and emits nothing later.
 */
export function applyEdits(raw: string, base: number, from: number, to: number, edits: readonly Edit[], carry: Edit | null): { text: string; carry: Edit | null } {
  let out = '';
  let cursor = from;
  let next: Edit | null = null;
  if (carry && carry.end > from) cursor = Math.min(carry.end, to);
  if (carry && carry.end > to) next = { start: to, end: carry.end, replacement: '' };
  for (const ed of edits) {
    if (ed.start < cursor || ed.start >= to) continue;
    out += raw.slice(cursor - base, ed.start - base) + ed.replacement;
    cursor = Math.min(ed.end, to);
    if (ed.end > to) next = { start: to, end: ed.end, replacement: '' };
  }
  out += raw.slice(cursor - base, to - base);
  return { text: out, carry: next };
}
