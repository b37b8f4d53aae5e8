// Case-insensitive search for many ASCII keywords in one pass, so the cost of the secret prefilter does not
// grow with the number of rules (gitleaks' keyword prefilter, without one strings.Contains per rule).
// The pass tests each position's next three characters against a bitmap of every keyword's first three
// (32 KiB for the default pack, so it stays in cache, and no step waits on the one before, as an automaton's
// state chain does); only the few percent of positions that pass walk a trie to confirm which keywords start there.

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

/** Characters the filter looks at per position. */
const GRAM = 3;

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

/** Bit set of every class trigram a keyword can start with; a keyword shorter than GRAM admits any continuation. */
function buildFilter(keywords: readonly string[], a: Alphabet, bits: number): Uint8Array {
  const filter = new Uint8Array(Math.max(1, (1 << (GRAM * bits)) >> 3));
  const mark = (prefix: number, depth: number): void => {
    if (depth === GRAM) {
      filter[prefix >> 3]! |= 1 << (prefix & 7);
      return;
    }
    for (let c = 0; c < a.size; c++) mark((prefix << bits) | c, depth + 1);
  };
  for (const k of keywords) {
    let prefix = 0;
    const n = Math.min(GRAM, k.length);
    for (let i = 0; i < n; i++) prefix = (prefix << bits) | a.classOf[k.charCodeAt(i)]!;
    mark(prefix, n);
  }
  return filter;
}

/** Positions tested per block: the block's bytes and candidate list are reused, so a scan allocates nothing. */
const BLOCK = 16384;

/** Keywords are lower-cased; only printable ASCII is allowed. */
export function buildKeywordMatcher(input: readonly string[]): KeywordMatcher {
  const keywords = input.map((k) => k.toLowerCase());
  for (const k of keywords) {
    if (k.length === 0 || !/^[\x21-\x7e ]+$/.test(k)) throw new Error(`keyword ${JSON.stringify(k)} must be printable ASCII`);
  }
  const alphabet = alphabetOf(keywords);
  const { classOf, size } = alphabet;
  const bits = Math.max(1, Math.ceil(Math.log2(size)));
  const mask = (1 << (GRAM * bits)) - 1;
  const filter = buildFilter(keywords, alphabet, bits);
  const { edges, outputs } = buildTrie(keywords, alphabet);

  /** Walk the trie from `start`, reporting every keyword that begins there. */
  function confirm(text: string, start: number, onHit: (keyword: number, start: number) => void): void {
    let s = 0;
    for (let j = start; j < text.length; j++) {
      const c = text.charCodeAt(j);
      s = c < 128 ? edges[s * size + classOf[c]!]! : 0;
      if (s === 0) return;
      const out = outputs[s];
      if (out) for (let k = 0; k < out.length; k++) onHit(out[k]!, start);
    }
  }

  /**
   * Candidate starts in text[from, from + count), written to `cand` (offsets from `from`); returns how many.
   * Copying the block to bytes first is cheaper than charCodeAt per character, and a character beyond 0xff
   * copies as its low byte: that can only add a candidate (which confirm rejects), never hide an ASCII one.
   * The candidate is stored unconditionally and kept by adding the filter bit: no branch to mispredict.
   */
  function candidates(text: string, from: number, count: number, bytes: Buffer, cand: Int32Array): number {
    const need = Math.min(text.length - from, count + GRAM - 1);
    bytes.write(need === text.length ? text : text.slice(from, from + need), 0, 'latin1');
    // Past the end of the text counts as class 0, which only keywords shorter than GRAM admit.
    bytes.fill(0, need, count + GRAM - 1);
    const cls = classOf;
    const bitset = filter;
    const b = bits;
    const m = mask;
    let h = (cls[bytes[0]!]! << b) | cls[bytes[1]!]!;
    let k = 0;
    for (let i = 0; i < count; i++) {
      h = ((h << b) | cls[bytes[i + GRAM - 1]!]!) & m;
      cand[k] = i;
      k += (bitset[h >> 3]! >> (h & 7)) & 1;
    }
    return k;
  }

  // One scratch block per matcher, reused by every scan: allocating 80 KiB per call made the many short texts of
  // an HTML page or a request's headers cost more than the long ones. A scan started from inside an onHit (the
  // scratch is in use) gets its own.
  let scratch: { readonly bytes: Buffer; readonly cand: Int32Array } | null = null;
  return {
    keywords,
    scan(text, onHit) {
      if (text.length === 0) return;
      const own = scratch ?? { bytes: Buffer.allocUnsafeSlow(BLOCK + GRAM), cand: new Int32Array(BLOCK) };
      scratch = null;
      try {
        for (let from = 0; from < text.length; from += BLOCK) {
          const found = candidates(text, from, Math.min(BLOCK, text.length - from), own.bytes, own.cand);
          for (let j = 0; j < found; j++) confirm(text, from + own.cand[j]!, onHit);
        }
      } finally {
        scratch = own;
      }
    },
  };
}
