// Decoded views of a body for scanning: JSON string escapes (\u0041KIA…) and form percent-encoding
// (%41KIA…) hide tokens from pattern matching (gitleaks added decoding for the same reason). A view keeps
// a map back to raw offsets, so findings land on the raw bytes that carried them.

export interface View {
  readonly text: string;
  /**
   * One entry of four per decoded escape: view start, view end, raw start, raw end. Between escapes the view
   * and the raw text are the same characters, shifted. Null when the view is the raw text.
   */
  readonly escapes: Int32Array | null;
  readonly rawLength: number;
}

export function identityView(raw: string): View {
  return { text: raw, escapes: null, rawLength: raw.length };
}

/** Index of the last escape whose view start is <= i, or -1. */
function escapeAt(esc: Int32Array, i: number): number {
  let lo = 0;
  let hi = esc.length / 4 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (esc[mid * 4]! <= i) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function rawStartOf(esc: Int32Array, i: number): number {
  const k = escapeAt(esc, i);
  if (k === -1) return i;
  const b = k * 4;
  return i < esc[b + 1]! ? esc[b + 2]! : i - esc[b + 1]! + esc[b + 3]!;
}

function rawEndOf(esc: Int32Array, i: number): number {
  const k = escapeAt(esc, i);
  if (k === -1) return i + 1;
  const b = k * 4;
  return i < esc[b + 1]! ? esc[b + 3]! : i - esc[b + 1]! + esc[b + 3]! + 1;
}

/** Raw [start, end) for view [start, end): a span touching part of an escape's expansion covers the whole escape. */
export function viewSpanToRaw(view: View, start: number, end: number): [number, number] {
  const esc = view.escapes;
  if (esc === null) return [start, end];
  if (end <= start) {
    const r = start >= view.text.length ? view.rawLength : rawStartOf(esc, start);
    return [r, r];
  }
  return [rawStartOf(esc, start), rawEndOf(esc, end - 1)];
}

/** Build a view with String.prototype.replace: the engine finds escapes, the callback records where. */
function buildView(raw: string, re: RegExp, decode: (m: string, groups: readonly (string | undefined)[]) => string): View {
  const marks: number[] = [];
  let shift = 0;
  const text = raw.replace(re, (m: string, ...rest: unknown[]) => {
    const offset = rest[rest.length - 2] as number;
    const out = decode(m, rest.slice(0, -2) as (string | undefined)[]);
    const viewStart = offset - shift;
    marks.push(viewStart, viewStart + out.length, offset, offset + m.length);
    shift += m.length - out.length;
    return out;
  });
  return marks.length === 0 ? identityView(raw) : { text, escapes: Int32Array.from(marks), rawLength: raw.length };
}

function codePointText(cp: number, byteDomain: boolean): string {
  const s = String.fromCodePoint(cp);
  return byteDomain ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function hex4(raw: string, at: number): number {
  if (at + 4 > raw.length) return -1;
  let v = 0;
  for (let k = at; k < at + 4; k++) {
    const c = raw.charCodeAt(k);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Marks of a view under construction: four ints per escape, in a buffer that grows by doubling. */
class Marks {
  buf = new Int32Array(256);
  n = 0;
  push(viewStart: number, viewEnd: number, rawStart: number, rawEnd: number): void {
    if (this.n + 4 > this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = viewStart;
    this.buf[this.n++] = viewEnd;
    this.buf[this.n++] = rawStart;
    this.buf[this.n++] = rawEnd;
  }
}

const SHORT_CODES = (() => {
  const t = new Int32Array(128).fill(-1);
  for (const [k, v] of Object.entries(SIMPLE_ESCAPES)) t[k.charCodeAt(0)] = v.charCodeAt(0);
  return t;
})();

/** Decoded text of the \\u escape at raw[i] (length 6, or 12 for a surrogate pair: see escapeLength), or null. */
function unicodeEscapeAt(raw: string, i: number, byteDomain: boolean): string | null {
  const u = hex4(raw, i + 2);
  if (u < 0) return null;
  if (u >= 0xd800 && u < 0xdc00 && raw.charCodeAt(i + 6) === 92 && raw.charCodeAt(i + 7) === 117) {
    const lo = hex4(raw, i + 8);
    if (lo >= 0xdc00 && lo < 0xe000) return codePointText(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00), byteDomain);
  }
  return u < 0x80 ? String.fromCharCode(u) : codePointText(u, byteDomain);
}

function pairLength(raw: string, i: number): number {
  const u = hex4(raw, i + 2);
  return u >= 0xd800 && u < 0xdc00 && raw.charCodeAt(i + 6) === 92 && raw.charCodeAt(i + 7) === 117 && hex4(raw, i + 8) >= 0xdc00 && hex4(raw, i + 8) < 0xe000 ? 12 : 6;
}

/**
 * Decode JSON escapes wherever they appear (outside strings a backslash is invalid JSON anyway). In the byte
 * domain (UTF-8 bodies scanned as latin1), \\uXXXX expands to its UTF-8 bytes so the view matches raw text.
 * One indexOf-driven pass: the text between escapes is sliced and joined once, never rebuilt per character.
 */
export function jsonView(raw: string, byteDomain: boolean): View {
  let i = raw.indexOf('\\');
  if (i === -1) return identityView(raw);
  const marks = new Marks();
  // Appending to one string (V8 builds a rope, flattened once) measured faster than collecting parts and joining.
  let text = '';
  let last = 0;
  let viewLength = 0;
  while (i !== -1) {
    const c = raw.charCodeAt(i + 1);
    let decoded: string | null = null;
    let length = 2;
    if (c === 117) {
      decoded = unicodeEscapeAt(raw, i, byteDomain);
      if (decoded !== null) length = pairLength(raw, i);
    } else if (c < 128 && SHORT_CODES[c]! >= 0) decoded = String.fromCharCode(SHORT_CODES[c]!);
    if (decoded === null) {
      i = raw.indexOf('\\', i + 1);
      continue;
    }
    viewLength += i - last;
    marks.push(viewLength, viewLength + decoded.length, i, i + length);
    text += raw.slice(last, i) + decoded;
    viewLength += decoded.length;
    last = i + length;
    i = raw.indexOf('\\', last);
  }
  if (marks.n === 0) return identityView(raw);
  return { text: text + raw.slice(last), escapes: marks.buf.subarray(0, marks.n), rawLength: raw.length };
}

const FORM_ESCAPE = /\+|%([0-9a-fA-F]{2})/g;
const PERCENT_ESCAPE = /%([0-9a-fA-F]{2})/g;

/** application/x-www-form-urlencoded (and query strings): %XX to its byte, '+' to a space. */
export function formView(raw: string, plusIsSpace = true): View {
  if (raw.indexOf('%') === -1 && (!plusIsSpace || raw.indexOf('+') === -1)) return identityView(raw);
  return buildView(raw, plusIsSpace ? FORM_ESCAPE : PERCENT_ESCAPE, (m, [hex]) => (hex === undefined ? ' ' : String.fromCharCode(parseInt(hex, 16))));
}
