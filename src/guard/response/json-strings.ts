// Streaming JSON string-value rewriter: structure, keys, numbers and literals pass as opaque items; each
// string value becomes a text item (decoded from its escapes) and is re-escaped only if it changed, so the
// output is always valid JSON with the same structure. Memory: one window of string content (long strings
// are cut into parts at escape boundaries), never the whole document. A body declared JSON that is not JSON
// (a character no JSON text can hold outside a string) is handed on as plain text from that point: a server
// that labels prose as application/json must not get it past the detectors unread.
import type { TextStream } from './text-stream.ts';

const PART_LIMIT = 32 * 1024;
const TEXT_PIECE = 64 * 1024;
const CONTROL = /[\u0000-\u001f]/;

/** Characters JSON allows outside strings: whitespace, punctuation, numbers and the letters of true/false/null. */
const STRUCTURAL = (() => {
  const t = new Uint8Array(128);
  for (const c of ' \t\r\n{}[],:0123456789+-.eEtruefalsn') t[c.charCodeAt(0)] = 1;
  return t;
})();

function identity(t: string): string {
  return t;
}

/** For content that is not valid JSON string content: keep it as it came, only quotes and backslashes escaped. */
function escapeQuotes(t: string): string {
  return t.replace(/["\\]/g, (c) => `\\${c}`);
}

function encodeJsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function decodeJsonInner(raw: string): string | null {
  // Most string values have no escape: they decode to themselves (JSON.parse per value was a hot spot).
  if (raw.indexOf('\\') === -1 && !CONTROL.test(raw)) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return null;
  }
}

export class JsonStringRewriter {
  private readonly out: TextStream;
  private stack: string[] = [];
  private expectKey = false;
  private inString = false;
  private isKey = false;
  private escapePending = false;
  /** Raw (escaped) content of the current string not yet handed on. */
  private raw = '';
  /** Opaque output not yet handed on. */
  private opaqueBuf = '';
  /** The current value turned out not to be JSON: the rest of it is plain text. */
  private notJson = false;
  /** Index of the next backslash in the chunk being written, at or after where it was last looked for; -1: none. */
  private backslash = -2;

  constructor(out: TextStream) {
    this.out = out;
  }

  write(s: string): void {
    if (this.notJson) return this.plain(s, 0);
    this.backslash = -2;
    let i = 0;
    while (i < s.length) i = this.inString ? this.scanString(s, i) : this.scanStructure(s, i);
    if (this.inString && !this.isKey && this.raw.length > PART_LIMIT) this.emitPart(false);
    if (this.opaqueBuf.length > 0 && !this.inString) this.flushOpaque(false);
  }

  /** End of one JSON text (an NDJSON line, an SSE data value): reset the structure state. */
  endValue(): void {
    if (this.inString) {
      // Unterminated string: hand it on as text so it is still scanned; it stays as invalid as it came.
      this.emitPart(true);
      this.inString = false;
    }
    this.flushOpaque(false);
    this.stack = [];
    this.expectKey = false;
    this.notJson = false;
  }

  private plain(s: string, from: number): void {
    for (let i = from; i < s.length; i += TEXT_PIECE) {
      const piece = s.slice(i, i + TEXT_PIECE);
      this.out.text(piece, piece, identity);
    }
  }

  private flushOpaque(separate: boolean): void {
    this.out.opaque(this.opaqueBuf, separate);
    this.opaqueBuf = '';
  }

  private scanStructure(s: string, from: number): number {
    const q = s.indexOf('"', from);
    const end = q < 0 ? s.length : q;
    for (let k = from; k < end; k++) {
      switch (s.charCodeAt(k)) {
        case 0x7b: // {
          this.stack.push('{');
          this.expectKey = true;
          break;
        case 0x5b: // [
          this.stack.push('[');
          this.expectKey = false;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.stack.pop();
          this.expectKey = false;
          break;
        case 0x2c: // ,
          this.expectKey = this.stack[this.stack.length - 1] === '{';
          break;
        case 0x3a: // :
          this.expectKey = false;
          break;
        default: {
          const c = s.charCodeAt(k);
          if (c >= 128 || STRUCTURAL[c] !== 1) return this.fallBack(s, from, k);
        }
      }
    }
    this.opaqueBuf += s.slice(from, end);
    if (q < 0) return s.length;
    this.isKey = this.expectKey && this.stack[this.stack.length - 1] === '{';
    this.expectKey = false;
    this.opaqueBuf += '"';
    this.inString = true;
    this.raw = '';
    if (!this.isKey) this.flushOpaque(true);
    return q + 1;
  }

  /** Not JSON from s[at]: hand on the structure so far, then everything as plain text. */
  private fallBack(s: string, from: number, at: number): number {
    this.opaqueBuf += s.slice(from, at);
    this.flushOpaque(true);
    this.notJson = true;
    this.plain(s, at);
    return s.length;
  }

  private scanString(s: string, from: number): number {
    let i = from;
    if (this.escapePending) {
      this.escapePending = false;
      this.raw += s[i]!;
      i++;
    }
    // indexOf for the quote and for the next backslash (kept per chunk, so a chunk without one is searched
    // once, not once per string): a regex exec per string value allocated a match each time.
    let p = i;
    let q = s.indexOf('"', p);
    for (;;) {
      if (this.backslash !== -1 && this.backslash < p) this.backslash = s.indexOf('\\', p);
      const b = this.backslash;
      if (b !== -1 && (q === -1 || b < q)) {
        if (b + 1 >= s.length) {
          this.raw += s.slice(i);
          this.escapePending = true;
          return s.length;
        }
        p = b + 2;
        if (q !== -1 && q < p) q = s.indexOf('"', p);
        continue;
      }
      if (q === -1) {
        this.raw += s.slice(i);
        return s.length;
      }
      this.raw += s.slice(i, q);
      this.closeString();
      return q + 1;
    }
  }

  private closeString(): void {
    this.inString = false;
    if (this.isKey) {
      this.opaqueBuf += `${this.raw}"`;
      this.raw = '';
      return;
    }
    this.emitPart(true);
    this.opaqueBuf += '"';
  }

  /** Hand on string content as a text item; a partial part is cut before any incomplete escape. */
  private emitPart(whole: boolean): void {
    const part = whole ? this.raw : this.raw.slice(0, escapeBoundary(this.raw));
    this.raw = whole ? '' : this.raw.slice(part.length);
    if (part.indexOf('\\') === -1) {
      // No escape: the text is the raw content itself. Whether it holds a control character (not JSON, so
      // JSON.parse would fail) only picks the encoder, so it is asked only if the text is rewritten.
      this.out.text(part, part, (t) => (CONTROL.test(part) ? escapeQuotes(t) : encodeJsonInner(t)));
      return;
    }
    const decoded = decodeJsonInner(part);
    if (decoded === null) this.out.text(part, part, escapeQuotes);
    else this.out.text(decoded, part, encodeJsonInner);
  }
}

/** Where a partial part of `raw` may end: backed off until it ends on an escape boundary (\uXXXX, \\ and \" never split). */
function escapeBoundary(raw: string): number {
  let cut = Math.max(0, raw.length - 12);
  while (cut > 0 && decodeJsonInner(raw.slice(Math.max(0, cut - 12), cut)) === null) cut--;
  return cut;
}
