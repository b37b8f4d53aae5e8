// The JSON view of a body: escapes decoded (\u0041KIA…, "\n" inside a PEM block), with the map back to raw.
import { EscapeMap, identityView, type View } from './views.ts';

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

const SHORT_CODES = (() => {
  const t = new Int32Array(128).fill(-1);
  for (const [k, v] of Object.entries(SIMPLE_ESCAPES)) t[k.charCodeAt(0)] = v.charCodeAt(0);
  return t;
})();

function pairLength(raw: string, i: number): number {
  const u = hex4(raw, i + 2);
  return u >= 0xd800 && u < 0xdc00 && raw.charCodeAt(i + 6) === 92 && raw.charCodeAt(i + 7) === 117 && hex4(raw, i + 8) >= 0xdc00 && hex4(raw, i + 8) < 0xe000 ? 12 : 6;
}

/**
 * Decode JSON escapes wherever they appear (outside strings a backslash is invalid JSON anyway). In the byte
 * domain (UTF-8 bodies scanned as latin1), \\uXXXX expands to its UTF-8 bytes so the view matches raw text.
 */
export function jsonView(raw: string, byteDomain: boolean): View {
  const first = raw.indexOf('\\');
  if (first === -1) return identityView(raw);
  return byteDomain ? jsonViewBytes(raw, first) : jsonViewChars(raw, first);
}

/** Length of the escape at raw[i] and its decoded code point (-1: not an escape, left as it is). */
function jsonEscapeAt(raw: string, i: number): { length: number; cp: number } {
  const c = raw.charCodeAt(i + 1);
  if (c === 117) {
    const u = hex4(raw, i + 2);
    if (u < 0) return { length: 2, cp: -1 };
    const length = pairLength(raw, i);
    return { length, cp: length === 12 ? 0x10000 + ((u - 0xd800) << 10) + (hex4(raw, i + 8) - 0xdc00) : u };
  }
  return { length: 2, cp: c < 128 ? SHORT_CODES[c]! : -1 };
}

/** UTF-8 of a code point into out[at]; a lone surrogate becomes U+FFFD, as Buffer.from(s, 'utf8') writes it. */
function writeUtf8(out: Buffer, at: number, cp: number): number {
  if (cp < 0x80) {
    out[at] = cp;
    return 1;
  }
  if (cp < 0x800) {
    out[at] = 0xc0 | (cp >> 6);
    out[at + 1] = 0x80 | (cp & 63);
    return 2;
  }
  const v = cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp;
  if (v < 0x10000) {
    out[at] = 0xe0 | (v >> 12);
    out[at + 1] = 0x80 | ((v >> 6) & 63);
    out[at + 2] = 0x80 | (v & 63);
    return 3;
  }
  out[at] = 0xf0 | (v >> 18);
  out[at + 1] = 0x80 | ((v >> 12) & 63);
  out[at + 2] = 0x80 | ((v >> 6) & 63);
  out[at + 3] = 0x80 | (v & 63);
  return 4;
}

/**
 * Byte domain: the raw bytes are copied to one buffer and decoded in place (an escape never decodes to more
 * bytes than it spans), then read back as one string. Appending slices to a string instead builds a rope with
 * a piece per escape, which the stages' first read then flattens at several times the cost; joining decoded
 * blocks makes a body-sized string in V8's large-object space, which is fresh memory for every body, where
 * a buffer's malloc'd memory is reused.
 */
function jsonViewBytes(raw: string, first: number): View {
  const out = Buffer.allocUnsafe(raw.length);
  out.write(raw, 0, 'latin1');
  const c: Compaction = { raw, out, marks: new EscapeMap(), w: first, r: first, i: first };
  for (let until = first + BLOCK; c.i !== -1; until += BLOCK) compactBlock(c, until);
  if (c.marks.count === 0) return identityView(raw);
  const length = moveDown(out, c.w, c.r, raw.length);
  return { text: out.toString('latin1', 0, length), escapes: c.marks, rawLength: raw.length };
}

interface Compaction {
  readonly raw: string;
  readonly out: Buffer;
  readonly marks: EscapeMap;
  /** Decoded up to out[w]; raw read up to r. */
  w: number;
  r: number;
  /** The next backslash in raw, or -1. */
  i: number;
}

/**
 * Raw characters per compactBlock call. Cutting the work into calls lets V8 optimize compactBlock as a whole;
 * with one call per body its loop would run in code compiled on stack, which V8 drops between calls, so every
 * later body would run it in the interpreter.
 */
const BLOCK = 16384;

/** Move buf[from, to) down to w (w <= from); returns the new w. Most runs between escapes are short: a loop beats a call. */
function moveDown(buf: Buffer, w: number, from: number, to: number): number {
  if (w === from) return w + to - from;
  if (to - from > 64) {
    buf.copyWithin(w, from, to);
    return w + to - from;
  }
  for (let k = from; k < to; k++) buf[w++] = buf[k]!;
  return w;
}

/** Decode, in place, the escapes that start before raw offset `until`. */
function compactBlock(c: Compaction, until: number): void {
  const { raw, out, marks } = c;
  let { w, r, i } = c;
  while (i !== -1 && i < until) {
    const e = jsonEscapeAt(raw, i);
    if (e.cp < 0) {
      i = raw.indexOf('\\', i + 1);
      continue;
    }
    w = moveDown(out, w, r, i);
    const n = writeUtf8(out, w, e.cp);
    marks.push(w, w + n, i, i + e.length);
    w += n;
    r = i + e.length;
    i = raw.indexOf('\\', r);
  }
  c.w = w;
  c.r = r;
  c.i = i;
}

/** Decoded text is UTF-16 here (chars beyond 0xff): the text between escapes is appended slice by slice. */
function jsonViewChars(raw: string, first: number): View {
  const marks = new EscapeMap();
  let text = '';
  let last = 0;
  let viewLength = 0;
  for (let i = first; i !== -1; ) {
    const e = jsonEscapeAt(raw, i);
    if (e.cp < 0) {
      i = raw.indexOf('\\', i + 1);
      continue;
    }
    const decoded = String.fromCodePoint(e.cp);
    viewLength += i - last;
    marks.push(viewLength, viewLength + decoded.length, i, i + e.length);
    text += raw.slice(last, i) + decoded;
    viewLength += decoded.length;
    last = i + e.length;
    i = raw.indexOf('\\', last);
  }
  if (marks.count === 0) return identityView(raw);
  return { text: text + raw.slice(last), escapes: marks, rawLength: raw.length };
}
