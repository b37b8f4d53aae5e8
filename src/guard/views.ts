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
const JSON_ESCAPE = /\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g;

/**
 * Decode JSON escapes wherever they appear (outside strings a backslash is invalid JSON anyway). In the byte
 * domain (UTF-8 bodies scanned as latin1), \uXXXX expands to its UTF-8 bytes so the view matches raw text.
 */
export function jsonView(raw: string, byteDomain: boolean): View {
  if (raw.indexOf('\\') === -1) return identityView(raw);
  return buildView(raw, JSON_ESCAPE, (_m, [hi, lo, u, simple]) => {
    if (simple !== undefined) return SIMPLE_ESCAPES[simple]!;
    const cp = hi !== undefined ? 0x10000 + ((parseInt(hi, 16) - 0xd800) << 10) + (parseInt(lo!, 16) - 0xdc00) : parseInt(u!, 16);
    return codePointText(cp, byteDomain);
  });
}

const FORM_ESCAPE = /\+|%([0-9a-fA-F]{2})/g;
const PERCENT_ESCAPE = /%([0-9a-fA-F]{2})/g;

/** application/x-www-form-urlencoded (and query strings): %XX to its byte, '+' to a space. */
export function formView(raw: string, plusIsSpace = true): View {
  if (raw.indexOf('%') === -1 && (!plusIsSpace || raw.indexOf('+') === -1)) return identityView(raw);
  return buildView(raw, plusIsSpace ? FORM_ESCAPE : PERCENT_ESCAPE, (m, [hex]) => (hex === undefined ? ' ' : String.fromCharCode(parseInt(hex, 16))));
}
