// Case-insensitive search for many ASCII keywords in one pass, so the cost of the secret prefilter does not
// grow with the number of rules (gitleaks' keyword prefilter, without one strings.Contains per rule).
// The pass tests each position's next three characters against a hashed byte table of every keyword's first three
// (32 KiB, so it stays in cache, and no step waits on the one before, as an automaton's state chain does); the few
// percent of positions that pass are tested on four characters, and only those walk a trie to confirm which
// keywords start there. The text is read four bytes at a time: one load serves four positions.

export interface KeywordHit {
  /** Index of the keyword in the list given to buildKeywordMatcher. */
  readonly keyword: number;
  /** Offset of the keyword's first character in the text. */
  readonly start: number;
}

export interface KeywordMatcher {
  readonly keywords: readonly string[];
  /**
   * Calls onHit for every occurrence of every keyword (overlapping occurrences included), in order of start
   * and, at one start, shorter keywords first.
   */
  scan(text: string, onHit: (keyword: number, start: number) => void): void;
}

interface Alphabet {
  /** Every byte to its class: 0 for characters no keyword contains, A-Z folded to a-z. */
  readonly classOf: Uint8Array;
  readonly size: number;
}

function alphabetOf(keywords: readonly string[]): Alphabet {
  const classOf = new Uint8Array(256);
  let size = 1;
  for (const k of keywords) {
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i);
      if (classOf[c] === 0) classOf[c] = size++;
    }
  }
  for (let c = 65; c <= 90; c++) classOf[c] = classOf[c | 32]!;
  return { classOf, size };
}

interface Trie {
  /** states x alphabet size; 0 is "no edge" (the root is never a target). */
  readonly edges: Int32Array;
  /** Keyword ids ending at each state, or null. */
  readonly outputs: ReadonlyArray<Int32Array | null>;
}

function buildTrie(keywords: readonly string[], a: Alphabet): Trie {
  let edges = new Int32Array(64 * a.size);
  let states = 1;
  const ends: number[][] = [[]];
  keywords.forEach((kw, id) => {
    let s = 0;
    for (let i = 0; i < kw.length; i++) {
      const at = s * a.size + a.classOf[kw.charCodeAt(i)]!;
      if (edges[at] === 0) {
        if ((states + 1) * a.size > edges.length) {
          const grown = new Int32Array(edges.length * 2);
          grown.set(edges);
          edges = grown;
        }
        edges[at] = states++;
        ends.push([]);
      }
      s = edges[at]!;
    }
    ends[s]!.push(id);
  });
  return { edges, outputs: ends.map((e) => (e.length > 0 ? Int32Array.from(e) : null)) };
}

/**
 * A byte's case fold: `| 0x20` maps A-Z onto a-z and every other byte onto some byte, so text equal to a keyword
 * up to ASCII case folds to what the keyword folds to. The filters only ever admit more than they should.
 */
const FOLD = 0x20202020;

/**
 * log2 of each filter's entries: fewer let one unlucky collision with a common word pass it everywhere. The first
 * filter is a byte per entry (32 KiB), not a bit: a load per position instead of a load, two shifts and a mask.
 * At 2^14 entries collisions doubled the candidates; 2^16 was no faster than 2^15 (bench/guard-request.ts).
 */
const FIRST_BITS = 15;
const SECOND_BITS = 17;

/** Multiplicative hashes of folded little-endian grams (the top bits are the best mixed); odd int32 multipliers. */
const M1 = 0x9e3779b1 | 0;
const M2 = 0xc2b2ae35 | 0;
const M3 = 0x85ebca6b | 0;
/** The first filter's hash of three folded characters held in bits 8-31 (a shift or mask puts them there). */
const firstHash = (w: number): number => Math.imul(w, M1) >>> (32 - FIRST_BITS);
const hash3b = (w: number, bits: number): number => Math.imul((w | FOLD) & 0xffffff, M2) >>> (32 - bits);
const hash4 = (w: number, bits: number): number => Math.imul(w | FOLD, M3) >>> (32 - bits);

const has = (set: Int32Array, h: number): number => (set[h >> 5]! >>> h) & 1;
const add = (set: Int32Array, h: number): void => {
  set[h >> 5]! |= 1 << (h & 31);
};

interface Filters {
  /** First three characters of every keyword, a byte per hash (see firstHash); a two-character keyword admits any third. */
  readonly first: Uint8Array;
  /** First four characters of every keyword of four or more. */
  readonly long: Int32Array;
  /** Keywords of two or three characters, as in `first`. */
  readonly short: Int32Array;
}

function buildFilters(keywords: readonly string[]): Filters {
  const f: Filters = { first: new Uint8Array(1 << FIRST_BITS), long: new Int32Array(1 << (SECOND_BITS - 5)), short: new Int32Array(1 << (SECOND_BITS - 5)) };
  for (const k of keywords) {
    const pair = k.charCodeAt(0) | (k.charCodeAt(1) << 8);
    if (k.length >= 4) add(f.long, hash4(pair | (k.charCodeAt(2) << 16) | (k.charCodeAt(3) << 24), SECOND_BITS));
    // Past the end of the text reads as byte 0, one of the 256 a two-character keyword admits.
    const thirds = k.length >= 3 ? [k.charCodeAt(2)] : Array.from({ length: 256 }, (_, c) => c);
    for (const c of thirds) {
      f.first[firstHash(((pair | (c << 16)) | FOLD) << 8)] = 1;
      if (k.length <= 3) add(f.short, hash3b(pair | (c << 16), SECOND_BITS));
    }
  }
  return f;
}

/** The four bytes at `at` as a little-endian int; `bytes` must extend three past `at`. */
const gramAt = (bytes: Buffer, at: number): number => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);

/** The filters read the text as little-endian words; on a big-endian platform the words are composed from the bytes. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function composeWords(bytes: Buffer, words: Int32Array, length: number): void {
  for (let j = 0; j * 4 < length; j++) words[j] = gramAt(bytes, j * 4);
}

/** Positions tested per block: the block's bytes and candidate list are reused, so a scan allocates nothing. */
const BLOCK = 16384;
/** Bytes past a block that a step reads: the next word, and the last three positions' following bytes. */
const TAIL = 8;

interface Scratch {
  readonly bytes: Buffer;
  /** `bytes` four at a time, little-endian: on such a platform the same memory, no copy. */
  readonly words: Int32Array;
  readonly cand: Int32Array;
}

function newScratch(): Scratch {
  // allocUnsafeSlow has a buffer of its own at offset 0, so the word view is aligned.
  const bytes = Buffer.allocUnsafeSlow(BLOCK + TAIL);
  const words = LITTLE_ENDIAN ? new Int32Array(bytes.buffer, bytes.byteOffset, (BLOCK + TAIL) >> 2) : new Int32Array((BLOCK + TAIL) >> 2);
  return { bytes, words, cand: new Int32Array(BLOCK + 4) };
}

/**
 * Candidate starts in text[from, from + count), written to `cand` (offsets from `from`); returns how many.
 * Copying the block to bytes first is cheaper than charCodeAt per character, and a character beyond 0xff
 * copies as its low byte: that can only add a candidate (which confirm rejects), never hide an ASCII one.
 * Four positions are hashed per step from two words and stored only when one passes (one in seven or so).
 */
function candidates(text: string, from: number, count: number, sc: Scratch, first: Uint8Array): number {
  const { bytes, words, cand } = sc;
  const need = Math.min(text.length - from, count + 3);
  bytes.write(need === text.length ? text : text.slice(from, from + need), 0, 'latin1');
  bytes.fill(0, need, count + TAIL);
  if (!LITTLE_ENDIAN) composeWords(bytes, words, count + TAIL);
  let k = 0;
  let x = words[0]! | FOLD;
  for (let j = 1, i = 0; i < count; j++, i += 4) {
    const y = words[j]! | FOLD;
    const m =
      first[firstHash(x << 8)]! |
      (first[firstHash(x & ~0xff)]! << 1) |
      (first[firstHash(((x >>> 8) & 0xffff00) | (y << 24))]! << 2) |
      (first[firstHash(((x >>> 16) & 0xff00) | (y << 16))]! << 3);
    if (m !== 0) {
      cand[k] = i;
      k += m & 1;
      cand[k] = i + 1;
      k += (m >> 1) & 1;
      cand[k] = i + 2;
      k += (m >> 2) & 1;
      cand[k] = i + 3;
      k += m >> 3;
    }
    x = y;
  }
  // The last step may have passed positions at or beyond count.
  while (k > 0 && cand[k - 1]! >= count) k--;
  return k;
}

/** What a matcher's hot functions read, passed in: with two or more matchers in a process (the request and
 * response guards), V8 cannot embed one closure's tables as constants, and loads through a closure cost more. */
interface Tables {
  readonly classOf: Uint8Array;
  readonly size: number;
  readonly edges: Int32Array;
  readonly outputs: ReadonlyArray<Int32Array | null>;
  readonly filters: Filters;
}

/** Walk the trie from `start`, reporting every keyword that begins there. */
function confirm(t: Tables, text: string, start: number, onHit: (keyword: number, start: number) => void): void {
  const { classOf, size, edges, outputs } = t;
  let s = 0;
  for (let j = start; j < text.length; j++) {
    const c = text.charCodeAt(j);
    s = c < 128 ? edges[s * size + classOf[c]!]! : 0;
    if (s === 0) return;
    const out = outputs[s];
    if (out) for (let k = 0; k < out.length; k++) onHit(out[k]!, start);
  }
}

/** Second test of a candidate, on four characters: can a keyword of four or more, or a shorter one, start here? */
function plausible(f: Filters, bytes: Buffer, at: number): boolean {
  const w = gramAt(bytes, at);
  return (has(f.long, hash4(w, SECOND_BITS)) | has(f.short, hash3b(w, SECOND_BITS))) !== 0;
}

function scanBlock(t: Tables, text: string, from: number, sc: Scratch, onHit: (keyword: number, start: number) => void): void {
  const count = Math.min(BLOCK, text.length - from);
  const found = candidates(text, from, count, sc, t.filters.first);
  for (let j = 0; j < found; j++) {
    const at = sc.cand[j]!;
    if (plausible(t.filters, sc.bytes, at)) confirm(t, text, from + at, onHit);
  }
}

/** Keywords are lower-cased; only printable ASCII is allowed. */
export function buildKeywordMatcher(input: readonly string[]): KeywordMatcher {
  const keywords = input.map((k) => k.toLowerCase());
  for (const k of keywords) {
    if (k.length === 0 || !/^[\x21-\x7e ]+$/.test(k)) throw new Error(`keyword ${JSON.stringify(k)} must be printable ASCII`);
  }
  const alphabet = alphabetOf(keywords);
  const tables: Tables = { ...alphabet, ...buildTrie(keywords, alphabet), filters: buildFilters(keywords) };
  const hasSingle = keywords.some((k) => k.length === 1);

  // One scratch block per matcher, reused by every scan: allocating 80 KiB per call made the many short texts of
  // an HTML page or a request's headers cost more than the long ones. A scan started from inside an onHit (the
  // scratch is in use) gets its own.
  let scratch: Scratch | null = null;
  return {
    keywords,
    scan(text, onHit) {
      if (text.length === 0) return;
      // A one-character keyword has no gram to filter on: every position walks the trie.
      if (hasSingle) {
        for (let i = 0; i < text.length; i++) confirm(tables, text, i, onHit);
        return;
      }
      const own = scratch ?? newScratch();
      scratch = null;
      try {
        for (let from = 0; from < text.length; from += BLOCK) scanBlock(tables, text, from, own, onHit);
      } finally {
        scratch = own;
      }
    },
  };
}
