// Decoded views of a body for scanning: JSON string escapes (\u0041KIA…) and form percent-encoding
// (%41KIA…) hide tokens from pattern matching (gitleaks added decoding for the same reason). A view keeps
// a map back to raw offsets, so findings land on the raw bytes that carried them.

export interface View {
  readonly text: string;
  /** Raw offset where view character i came from (length text.length + 1); null when view === raw. */
  readonly map: Int32Array | null;
  readonly rawLength: number;
}

export function identityView(raw: string): View {
  return { text: raw, map: null, rawLength: raw.length };
}

/** Raw [start, end) for view [start, end): an end inside one escape's expansion extends to the escape's end. */
export function viewSpanToRaw(view: View, start: number, end: number): [number, number] {
  const map = view.map;
  if (map === null) return [start, end];
  let rawEnd = map[end]!;
  if (end > start && end < view.text.length && map[end] === map[end - 1]) {
    let j = end;
    while (j < view.text.length && map[j] === map[end - 1]) j++;
    rawEnd = map[j]!;
  }
  return [map[start]!, rawEnd];
}

class ViewBuilder {
  readonly parts: string[] = [];
  map: Int32Array;
  length = 0;
  constructor(rawLength: number) {
    this.map = new Int32Array(rawLength + 1);
  }
  push(s: string, rawPos: number): void {
    this.parts.push(s);
    for (let k = 0; k < s.length; k++) this.map[this.length++] = rawPos;
  }
  copy(raw: string, from: number, to: number): void {
    if (to <= from) return;
    this.parts.push(raw.slice(from, to));
    for (let p = from; p < to; p++) this.map[this.length++] = p;
  }
  done(rawLength: number): View {
    this.map[this.length] = rawLength;
    return { text: this.parts.join(''), map: this.map.subarray(0, this.length + 1), rawLength };
  }
}

function codePointText(cp: number, byteDomain: boolean): string {
  const s = String.fromCodePoint(cp);
  return byteDomain ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Decode JSON escapes wherever they appear (outside strings a backslash is invalid JSON anyway). In the byte
 * domain (UTF-8 bodies scanned as latin1), \uXXXX expands to its UTF-8 bytes so the view matches raw text.
 */
export function jsonView(raw: string, byteDomain: boolean): View {
  if (raw.indexOf('\\') === -1) return identityView(raw);
  const b = new ViewBuilder(raw.length);
  let last = 0;
  for (let i = raw.indexOf('\\'); i !== -1 && i < raw.length - 1; i = raw.indexOf('\\', i)) {
    b.copy(raw, last, i);
    const c = raw[i + 1]!;
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) {
      b.push(simple, i);
      i += 2;
    } else if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(raw.slice(i + 2, i + 6))) {
      let cp = parseInt(raw.slice(i + 2, i + 6), 16);
      let len = 6;
      const low = raw.slice(i + 6, i + 12);
      if (cp >= 0xd800 && cp < 0xdc00 && /^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(low)) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(low.slice(2), 16) - 0xdc00);
        len = 12;
      }
      b.push(codePointText(cp, byteDomain), i);
      i += len;
    } else {
      b.copy(raw, i, i + 1);
      i += 1;
    }
    last = i;
  }
  b.copy(raw, last, raw.length);
  return b.done(raw.length);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** application/x-www-form-urlencoded (and query strings): %XX to its byte, '+' to a space. */
export function formView(raw: string, plusIsSpace = true): View {
  if (raw.indexOf('%') === -1 && (!plusIsSpace || raw.indexOf('+') === -1)) return identityView(raw);
  const b = new ViewBuilder(raw.length);
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 43 && plusIsSpace) {
      b.copy(raw, last, i);
      b.push(' ', i);
      last = i + 1;
    } else if (c === 37 && i + 2 < raw.length && hexValue(raw.charCodeAt(i + 1)) >= 0 && hexValue(raw.charCodeAt(i + 2)) >= 0) {
      b.copy(raw, last, i);
      b.push(String.fromCharCode(hexValue(raw.charCodeAt(i + 1)) * 16 + hexValue(raw.charCodeAt(i + 2))), i);
      i += 2;
      last = i + 1;
    }
  }
  b.copy(raw, last, raw.length);
  return b.done(raw.length);
}
