// Aho-Corasick over ASCII keywords, case-insensitive. One pass over the text finds every keyword hit, so the
// cost of the secret prefilter does not grow with the number of rules (gitleaks' keyword prefilter, but
// in one automaton instead of one strings.Contains per rule).

const ALPHABET = 128;

export interface KeywordHit {
  /** Index of the keyword in the list given to buildKeywordMatcher. */
  readonly keyword: number;
  /** Offset of the keyword's first character in the text. */
  readonly start: number;
}

export interface KeywordMatcher {
  readonly keywords: readonly string[];
  /** Calls onHit for every occurrence of every keyword (overlapping occurrences included). */
  scan(text: string, onHit: (keyword: number, start: number) => void): void;
}

interface Trie {
  next: number[][];
  outputs: number[][];
}

function buildTrie(keywords: readonly string[]): Trie {
  const next: number[][] = [new Array<number>(ALPHABET).fill(-1)];
  const outputs: number[][] = [[]];
  keywords.forEach((kw, id) => {
    let s = 0;
    for (let i = 0; i < kw.length; i++) {
      const c = kw.charCodeAt(i);
      const row = next[s]!;
      if (row[c] === -1) {
        row[c] = next.length;
        next.push(new Array<number>(ALPHABET).fill(-1));
        outputs.push([]);
      }
      s = row[c]!;
    }
    outputs[s]!.push(id);
  });
  return { next, outputs };
}

/** Keywords are lower-cased; only printable ASCII is allowed (the scan folds A-Z and maps non-ASCII to 0). */
export function buildKeywordMatcher(input: readonly string[]): KeywordMatcher {
  const keywords = input.map((k) => k.toLowerCase());
  for (const k of keywords) {
    if (k.length === 0 || !/^[\x21-\x7e ]+$/.test(k)) throw new Error(`keyword ${JSON.stringify(k)} must be printable ASCII`);
  }
  const { next, outputs } = buildTrie(keywords);
  const states = next.length;
  // 16-bit states when they fit: half the table, so more of it stays in cache on the per-character path.
  const delta = states < 65536 ? new Uint16Array(states * ALPHABET) : new Int32Array(states * ALPHABET);
  const fail = new Int32Array(states);
  const queue: number[] = [];
  for (let c = 0; c < ALPHABET; c++) {
    const t = next[0]![c]!;
    delta[c] = t === -1 ? 0 : t;
    if (t !== -1) queue.push(t);
  }
  // Breadth-first: each state's failure link points at a shallower state whose row is already complete.
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    const f = fail[s]!;
    outputs[s]!.push(...outputs[f]!);
    for (let c = 0; c < ALPHABET; c++) {
      const t = next[s]![c]!;
      if (t === -1) {
        delta[s * ALPHABET + c] = delta[f * ALPHABET + c]!;
      } else {
        delta[s * ALPHABET + c] = t;
        fail[t] = delta[f * ALPHABET + c]!;
        queue.push(t);
      }
    }
  }
  const hasOutput = new Uint8Array(states);
  const lengths = keywords.map((k) => k.length);
  for (let s = 0; s < states; s++) hasOutput[s] = outputs[s]!.length > 0 ? 1 : 0;
  const flat = outputs.map((o) => Int32Array.from(o));
  return {
    keywords,
    scan(text, onHit) {
      let s = 0;
      const n = text.length;
      for (let i = 0; i < n; i++) {
        s = delta[(s << 7) | FOLD[text.charCodeAt(i)]!]!;
        if (hasOutput[s] === 1) {
          const out = flat[s]!;
          for (let k = 0; k < out.length; k++) onHit(out[k]!, i + 1 - lengths[out[k]!]!);
        }
      }
    },
  };
}

/** Every UTF-16 code unit to its automaton column: A-Z folded to a-z, anything beyond ASCII to 0 (one lookup, no branches). */
const FOLD = (() => {
  const t = new Uint8Array(65536);
  for (let c = 0; c < ALPHABET; c++) t[c] = c >= 65 && c <= 90 ? c | 32 : c;
  return t;
})();
