// Decoded views of a body for scanning: JSON string escapes (\u0041KIA…) and form percent-encoding
// (%41KIA…) hide tokens from pattern matching (gitleaks added decoding for the same reason). A view keeps
// a map back to raw offsets, so findings land on the raw bytes that carried them.

export interface View {
  readonly text: string;
  /** Where the decoded escapes are; between escapes the view and the raw text are the same characters, shifted. Null when the view is the raw text. */
  readonly escapes: EscapeMap | null;
  readonly rawLength: number;
}

/** Ints per storage chunk (1024 escapes): a body full of escapes grows the map in small pieces, not by doubling one large array. */
const CHUNK_SHIFT = 12;
const CHUNK = 1 << CHUNK_SHIFT;

/** Four ints per decoded escape, in order: view start, view end, raw start, raw end. */
export class EscapeMap {
  private readonly chunks: Int32Array[] = [];
  count = 0;

  push(viewStart: number, viewEnd: number, rawStart: number, rawEnd: number): void {
    const at = (this.count * 4) & (CHUNK - 1);
    if (at === 0) this.chunks.push(new Int32Array(CHUNK));
    const c = this.chunks[this.chunks.length - 1]!;
    c[at] = viewStart;
    c[at + 1] = viewEnd;
    c[at + 2] = rawStart;
    c[at + 3] = rawEnd;
    this.count++;
  }

  /** Field 0-3 (view start, view end, raw start, raw end) of escape k. */
  get(k: number, field: number): number {
    const i = k * 4 + field;
    return this.chunks[i >> CHUNK_SHIFT]![i & (CHUNK - 1)]!;
  }
}

export function identityView(raw: string): View {
  return { text: raw, escapes: null, rawLength: raw.length };
}

/** Index of the last escape whose view start is <= i, or -1. */
function escapeAt(esc: EscapeMap, i: number): number {
  let lo = 0;
  let hi = esc.count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (esc.get(mid, 0) <= i) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function rawStartOf(esc: EscapeMap, i: number): number {
  const k = escapeAt(esc, i);
  if (k === -1) return i;
  return i < esc.get(k, 1) ? esc.get(k, 2) : i - esc.get(k, 1) + esc.get(k, 3);
}

function rawEndOf(esc: EscapeMap, i: number): number {
  const k = escapeAt(esc, i);
  if (k === -1) return i + 1;
  return i < esc.get(k, 1) ? esc.get(k, 3) : i - esc.get(k, 1) + esc.get(k, 3) + 1;
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
  const marks = new EscapeMap();
  let shift = 0;
  const text = raw.replace(re, (m: string, ...rest: unknown[]) => {
    const offset = rest[rest.length - 2] as number;
    const out = decode(m, rest.slice(0, -2) as (string | undefined)[]);
    const viewStart = offset - shift;
    marks.push(viewStart, viewStart + out.length, offset, offset + m.length);
    shift += m.length - out.length;
    return out;
  });
  return marks.count === 0 ? identityView(raw) : { text, escapes: marks, rawLength: raw.length };
}

const FORM_ESCAPE = /\+|%([0-9a-fA-F]{2})/g;
const PERCENT_ESCAPE = /%([0-9a-fA-F]{2})/g;

/** application/x-www-form-urlencoded (and query strings): %XX to its byte, '+' to a space. */
export function formView(raw: string, plusIsSpace = true): View {
  if (raw.indexOf('%') === -1 && (!plusIsSpace || raw.indexOf('+') === -1)) return identityView(raw);
  return buildView(raw, plusIsSpace ? FORM_ESCAPE : PERCENT_ESCAPE, (m, [hex]) => (hex === undefined ? ' ' : String.fromCharCode(parseInt(hex, 16))));
}
