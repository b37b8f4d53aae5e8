// Invisible-Unicode smuggling and the detection view.
// Attacks: Unicode TAG "ASCII smuggling" (U+E0000-E007F, Rehberger 2024), variation-selector smuggling
// (Butler 2025), zero-width interleaving that splits keywords, Trojan Source bidi controls (CVE-2021-42574),
// homoglyphs (Cyrillic/Greek look-alikes, fullwidth and mathematical letters). The output only loses
// invisible characters; homoglyph and NFKC folding exist only in the view that detectors read.

/** A replacement in text coordinates: [start, end) becomes `replacement`. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

export interface DetectionView {
  /** Text for detectors: TAG chars decoded to ASCII, invisibles dropped, homoglyphs folded. */
  readonly view: string;
  /** view index -> text index (length view.length + 1), or null when view === text. */
  readonly map: Int32Array | null;
  /** Invisible characters to delete from the output. */
  readonly strip: readonly Edit[];
  /** [start, end) text ranges that were hidden (TAG runs, invisible-char runs): detections there weigh more. */
  readonly hidden: ReadonlyArray<readonly [number, number]>;
  /** Whether the view folded mixed-script homoglyph words. */
  readonly homoglyphs: boolean;
  /** The view is pure ASCII (detectors can skip their non-ASCII passes). */
  readonly ascii: boolean;
  /**
   * Where the view may hold non-ASCII characters, as flat [start, end) pairs (see nonAsciiRegions), or null
   * when not known: the keyword gate then finds them itself. Saves it a second pass over the window.
   */
  readonly nonAscii: readonly number[] | null;
}

// Characters that render as nothing. TAG and the variation-selector supplement are astral (\uDB40 high surrogate).
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]|\uDB40[\uDC00-\uDDEF]/;
const NON_ASCII = /[^\x00-\x7F]/;
const EMOJI_BASE = /[\p{Extended_Pictographic}\p{Emoji_Component}\p{Emoji}]/u;
const HAN = /\p{Script=Han}/u;
// Scripts where ZWJ/ZWNJ change shaping (Persian, Hindi, Malayalam...): keep them between such letters.
const JOINING_SCRIPT = /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Mongolian}\p{M}]/u;
const BLACK_FLAG = 0x1f3f4;

// Cyrillic and Greek letters that look like Latin ones (subset of Unicode confusables.txt).
const CONFUSABLES: Readonly<Record<string, string>> = Object.freeze({
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i', ї: 'i', ј: 'j', ԁ: 'd', ɡ: 'g', ԛ: 'q', ԝ: 'w', һ: 'h',
  А: 'a', В: 'b', Е: 'e', К: 'k', М: 'm', Н: 'h', О: 'o', Р: 'p', С: 'c', Т: 't', У: 'y', Х: 'x', Ѕ: 's', І: 'i', Ј: 'j',
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', τ: 't', ι: 'i', κ: 'k', υ: 'u', χ: 'x', ε: 'e', Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'i', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't', Υ: 'y', Χ: 'x',
});
// Fullwidth forms, letterlike symbols, enclosed and mathematical alphanumerics: NFKC folds them to ASCII.
const NFKC_WORTHY = /[\u2100-\u214F\u2460-\u24FF\uFB00-\uFB06\uFF01-\uFF5E]|\uD835[\uDC00-\uDFFF]|\uD83C[\uDD30-\uDD89]/;

function isTag(cp: number): boolean {
  return cp >= 0xe0000 && cp <= 0xe007f;
}
function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

/** Is the invisible character at i legitimate here (emoji ZWJ sequences, VS16, IVS after Han, Indic ZWJ/ZWNJ, flag tags)? */
function isLegitimate(text: string, i: number, cp: number, runLength: number, prevCp: number): boolean {
  if (i === 0 && cp === 0xfeff) return true; // byte order mark at the start of the body
  if (runLength > 1 && !isTag(cp)) return false; // runs of invisibles are how payloads are encoded
  const prev = prevCp >= 0 ? String.fromCodePoint(prevCp) : '';
  const nextCp = text.codePointAt(i + (cp > 0xffff ? 2 : 1)) ?? -1;
  const next = nextCp >= 0 ? String.fromCodePoint(nextCp) : '';
  if (isVariationSelector(cp)) return prev !== '' && (EMOJI_BASE.test(prev) || HAN.test(prev));
  if (cp === 0x200d) return (EMOJI_BASE.test(prev) && EMOJI_BASE.test(next)) || (JOINING_SCRIPT.test(prev) && JOINING_SCRIPT.test(next));
  if (cp === 0x200c) return JOINING_SCRIPT.test(prev) && JOINING_SCRIPT.test(next);
  if (cp === 0x200e || cp === 0x200f || cp === 0x061c) return true; // LRM/RLM/ALM: ordinary in RTL text, no override
  return false;
}

/** Length (in UTF-16 units) of a valid emoji flag tag sequence (🏴 + a-z0-9 tags + CANCEL TAG) starting at i, or 0. */
function flagTagLength(text: string, i: number): number {
  let j = i;
  let count = 0;
  while (j < text.length && count < 8) {
    const cp = text.codePointAt(j) ?? 0;
    if (cp === 0xe007f) return count >= 2 ? j + 2 - i : 0;
    if (!((cp >= 0xe0030 && cp <= 0xe0039) || (cp >= 0xe0061 && cp <= 0xe007a))) return 0;
    j += 2;
    count++;
  }
  return 0;
}

class ViewBuilder {
  view = '';
  readonly map: number[] = [];
  readonly strip: Edit[] = [];
  readonly hidden: Array<[number, number]> = [];
  push(s: string, at: number): void {
    this.view += s;
    for (let k = 0; k < s.length; k++) this.map.push(at);
  }
  dropRange(start: number, end: number, hidden: boolean): void {
    this.strip.push({ start, end, replacement: '' });
    if (hidden) this.hidden.push([start, end]);
  }
}

/** Build the detection view of `text` and the list of invisible characters to strip. */
export function buildView(text: string): DetectionView {
  if (!NON_ASCII.test(text)) return { view: text, map: null, strip: [], hidden: [], homoglyphs: false, ascii: true, nonAscii: NONE };
  // One scan for the three kinds of special character: most non-Latin text (Korean, Japanese...) has none,
  // and then the regions it found are the view's too.
  const regions: number[] = [];
  if (!nonAsciiRegions(text, regions, SPECIAL_UNITS)) return { view: text, map: null, strip: [], hidden: [], homoglyphs: false, ascii: false, nonAscii: regions };
  if (!INVISIBLE.test(text) && !NFKC_WORTHY.test(text)) {
    // Ordinary non-Latin text (Russian, Greek...): same length, so no index map is needed.
    const folded = CONFUSABLE_CHAR.test(text) ? foldMixedScriptWords(text, text, []) : { view: text, changed: false };
    return { view: folded.view, map: null, strip: [], hidden: [], homoglyphs: folded.changed, ascii: false, nonAscii: null };
  }
  const b = new ViewBuilder();
  let i = 0;
  let prevCp = -1;
  let homoglyphs = false;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const ch = text.slice(i, i + width);
    if (cp === BLACK_FLAG) {
      const tagLen = flagTagLength(text, i + 2);
      b.push(ch, i);
      if (tagLen > 0) b.push(' ', i + 2); // keep the flag; the view sees a space, not its tags
      i += 2 + tagLen;
      prevCp = cp;
      continue;
    }
    if (cp < 0x80 || !INVISIBLE.test(ch)) {
      const folded = cp < 0x80 ? ch : foldChar(ch);
      if (folded !== ch && CONFUSABLES[ch] === undefined) homoglyphs = true;
      b.push(folded, i);
      i += width;
      prevCp = cp;
      continue;
    }
    i = consumeInvisibleRun(text, i, prevCp, b);
  }
  b.map.push(text.length);
  const folded = foldMixedScriptWords(b.view, text, b.map);
  return { view: folded.view, map: Int32Array.from(b.map), strip: b.strip, hidden: b.hidden, homoglyphs: homoglyphs || folded.changed, ascii: false, nonAscii: null };
}

/** Consume a run of invisible characters starting at i; decode TAG characters into the view. Returns the next index. */
function consumeInvisibleRun(text: string, i: number, prevCp: number, b: ViewBuilder): number {
  let j = i;
  const cps: Array<[number, number]> = [];
  while (j < text.length) {
    const cp = text.codePointAt(j)!;
    const w = cp > 0xffff ? 2 : 1;
    if (!INVISIBLE.test(text.slice(j, j + w))) break;
    cps.push([j, cp]);
    j += w;
  }
  const run = cps.length;
  if (isEmojiPresentationJoin(text, cps, prevCp, j)) {
    for (const [at, cp] of cps) b.push(String.fromCodePoint(cp), at);
    return j;
  }
  let tagStart = -1;
  for (const [at, cp] of cps) {
    const w = cp > 0xffff ? 2 : 1;
    if (isTag(cp)) {
      if (tagStart < 0) {
        tagStart = at;
        b.push(' ', at); // smuggled text is its own sentence for the detectors
      }
      if (cp >= 0xe0020 && cp <= 0xe007e) b.push(String.fromCharCode(cp - 0xe0000), at);
      continue;
    }
    if (tagStart >= 0) {
      b.push(' ', at);
      b.dropRange(tagStart, at, true);
      tagStart = -1;
    }
    if (isLegitimate(text, at, cp, run, prevCp)) b.push(String.fromCodePoint(cp), at);
    else b.dropRange(at, at + w, run > 2);
  }
  if (tagStart >= 0) {
    b.push(' ', j);
    b.dropRange(tagStart, j, true);
  }
  return j;
}

/** VS16 then ZWJ between two emoji (🏳️‍🌈, ❤️‍🔥): the one legitimate run of two invisible characters. */
function isEmojiPresentationJoin(text: string, cps: ReadonlyArray<readonly [number, number]>, prevCp: number, after: number): boolean {
  if (cps.length !== 2 || cps[0]![1] !== 0xfe0f || cps[1]![1] !== 0x200d || prevCp < 0) return false;
  const nextCp = text.codePointAt(after) ?? -1;
  return nextCp >= 0 && EMOJI_BASE.test(String.fromCodePoint(prevCp)) && EMOJI_BASE.test(String.fromCodePoint(nextCp));
}

function foldChar(ch: string): string {
  const c = CONFUSABLES[ch];
  if (c !== undefined) return ch; // folded later, only inside mixed-script words (Russian text stays Russian)
  if (NFKC_WORTHY.test(ch)) {
    return ch.normalize('NFKC');
  }
  return ch;
}

const WORD = /[\p{L}\p{M}]+/gu;
const CONFUSABLE_CHAR = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`);
const LATIN = /[A-Za-z]/;
/**
 * Code units that may start an invisible, NFKC-worthy or confusable character (the union of the three classes
 * above; astral ones by their high surrogate), as a table: a JS loop over it is several times faster than
 * irregexp on a class this size, and a false candidate only costs the exact path below.
 */
const SPECIAL_UNITS = (() => {
  const t = new Uint8Array(65536);
  const special = new RegExp(`^(?:${INVISIBLE.source}|${NFKC_WORTHY.source}|${CONFUSABLE_CHAR.source})`);
  for (let c = 0x80; c < 0x10000; c++) if (special.test(String.fromCharCode(c))) t[c] = 1;
  for (const high of [0xdb40, 0xd835, 0xd83c]) t[high] = 1;
  return t;
})();

const NONE: readonly number[] = Object.freeze([]);
const NON_ASCII_FROM = /[^\x00-\x7F]/g;
/** ASCII characters a region runs on past its last non-ASCII one: a regex call per Korean or Russian word cost more. */
const REGION_GAP = 16;

/**
 * Append to `out` regions of `text` ([start, end) pairs) that together hold every non-ASCII character, with
 * short ASCII gaps inside. Native regex search skips the ASCII between regions (a JS loop over a whole window
 * cost twice as much); only the characters inside a region are looked at one by one. Returns true, leaving
 * `out` incomplete, as soon as a code unit marked in `stop` is found.
 */
export function nonAsciiRegions(text: string, out: number[], stop: Uint8Array | null): boolean {
  const n = text.length;
  let from = 0;
  for (;;) {
    NON_ASCII_FROM.lastIndex = from;
    if (!NON_ASCII_FROM.test(text)) return false;
    const start = NON_ASCII_FROM.lastIndex - 1;
    let last = start;
    let i = start;
    for (; i < n && i - last <= REGION_GAP; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) continue;
      if (stop !== null && stop[c] === 1) return true;
      last = i;
    }
    out.push(start, last + 1);
    from = i;
  }
}

/** Fold Cyrillic/Greek look-alikes only in words that also contain Latin letters ("іgnоre"). Same length. */
function foldMixedScriptWords(view: string, _text: string, _map: number[]): { view: string; changed: boolean } {
  let changed = false;
  const out = view.replace(WORD, (word) => {
    if (!LATIN.test(word)) return word;
    let folded = '';
    let hit = false;
    for (const ch of word) {
      const c = CONFUSABLES[ch];
      if (c !== undefined) hit = true;
      folded += c !== undefined ? c : ch;
    }
    if (!hit) return word;
    changed = true;
    return folded;
  });
  return { view: out, changed };
}

/** Map a [start, end) range in view coordinates back to text coordinates. */
export function toTextRange(v: DetectionView, start: number, end: number): [number, number] {
  if (v.map === null) return [start, end];
  const s = v.map[Math.min(start, v.map.length - 1)]!;
  if (end <= start) return [s, s];
  const last = v.map[Math.min(end - 1, v.map.length - 1)]!;
  const next = v.map[Math.min(end, v.map.length - 1)]!;
  // The next view char's origin covers astral characters and invisibles inside the match.
  return [s, Math.max(s, next > last ? next : last + 1)];
}

/** Strip invisible characters (for attribute values and other small strings). */
export function stripInvisible(text: string): string {
  const v = buildView(text);
  if (v.strip.length === 0) return text;
  let out = '';
  let cursor = 0;
  for (const e of v.strip) {
    out += text.slice(cursor, e.start);
    cursor = e.end;
  }
  return out + text.slice(cursor);
}
