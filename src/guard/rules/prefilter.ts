// A quick reject for a secret rule, run before its RE2 attempt at a keyword hit. RE2 (re2js) costs about a
// microsecond per attempt and most keyword hits are ordinary words ("tokens", "path"); V8's own regex engine
// rejects them in tens of nanoseconds. Soundness: the filter is a *prefix* of the rule's top-level concatenation,
// translated so that on text whose characters are all <= 0xff it accepts at least what RE2 accepts there; every
// RE2 match starting at a position therefore passes it. Anything not known to translate exactly ends the prefix.
// ReDoS: the prefix holds no group, no alternation, at most one unbounded repeat and few other variable
// repeats, so V8's backtracking stays within a small multiple of the text length.

/** Product of the bounded repeats' ranges allowed in a prefix (each `?` doubles it). */
const MAX_VARIATION = 32;

interface Cursor {
  readonly src: string;
  i: number;
}

/** JS text of the escape at src[i] ('\\'), or null when it has no exact JS equivalent. */
function escapeOf(c: Cursor, inClass: boolean): string | null {
  const x = c.src[c.i + 1];
  if (x === undefined) return null;
  c.i += 2;
  if ('dDwW'.includes(x) || 'ntrfv'.includes(x)) return `\\${x}`;
  // RE2's \s is exactly [\t\n\f\r ]; JS's also has \v and Unicode spaces.
  if (x === 's') return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
  if (x === 'S') return inClass ? null : '[^\\t\\n\\f\\r ]';
  if ((x === 'b' || x === 'B') && !inClass) return `\\${x}`;
  if (x === 'x' && /^[0-9a-fA-F]{2}$/.test(c.src.slice(c.i, c.i + 2))) {
    c.i += 2;
    return `\\x${c.src.slice(c.i - 2, c.i)}`;
  }
  return /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(x) ? `\\${x}` : null;
}

function classOf(c: Cursor): string | null {
  let out = '[';
  c.i++;
  if (c.src[c.i] === '^') {
    out += '^';
    c.i++;
  }
  // RE2 reads a leading ']' as a literal, JS as the end of an empty class.
  if (c.src[c.i] === ']') return null;
  while (c.i < c.src.length) {
    const ch = c.src[c.i]!;
    if (ch === ']') {
      c.i++;
      return `${out}]`;
    }
    if (ch === '[' || ch.charCodeAt(0) > 0x7e || ch.charCodeAt(0) < 0x20) return null;
    if (ch === '\\') {
      const e = escapeOf(c, true);
      if (e === null) return null;
      out += e;
    } else {
      out += ch;
      c.i++;
    }
  }
  return null;
}

/** A repeat after an atom: [min, max] (max Infinity when unbounded), or [1, 1] when there is none. */
function repeatOf(c: Cursor): readonly [number, number] | null {
  const ch = c.src[c.i];
  let r: readonly [number, number] = [1, 1];
  if (ch === '*' || ch === '+' || ch === '?') {
    c.i++;
    r = ch === '*' ? [0, Infinity] : ch === '+' ? [1, Infinity] : [0, 1];
  } else if (ch === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(c.src.slice(c.i));
    if (!m) return null;
    c.i += m[0].length;
    r = [Number(m[1]), m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3])];
  } else return r;
  if (c.src[c.i] === '?') c.i++;
  return r;
}

/** Index of the ']' closing the class at src[open] (a ']' first in the class is a literal in RE2). */
function classEnd(src: string, open: number): number {
  let i = open + 1;
  if (src[i] === '^') i++;
  if (src[i] === ']') i++;
  while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
  return i;
}

/** Index of the ')' closing the group at src[open], and whether the group has a '|' of its own; null if none. */
function groupEnd(src: string, open: number): { end: number; alternation: boolean } | null {
  let depth = 0;
  let alternation = false;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (ch === '[') i = classEnd(src, i);
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return { end: i, alternation };
    else if (ch === '|' && depth === 1) alternation = true;
  }
  return null;
}

/** The atom at the cursor as JS text, '' for an unquantified group entered or left, or null to end the prefix. */
function atomOf(c: Cursor, dotAll: boolean, closes: number[]): string | null {
  const ch = c.src[c.i]!;
  if (ch === '(') {
    const g = groupEnd(c.src, c.i);
    const body = c.src.startsWith('(?:', c.i) ? c.i + 3 : c.src[c.i + 1] === '?' ? -1 : c.i + 1;
    if (g === null || body === -1 || g.alternation || /^[*+?{]/.test(c.src.slice(g.end + 1))) return null;
    closes.push(g.end);
    c.i = body;
    return '';
  }
  if (ch === ')') {
    if (closes.pop() !== c.i) return null;
    c.i++;
    return '';
  }
  if (ch === '[') return classOf(c);
  if (ch === '\\') return escapeOf(c, false);
  if (ch === '|' || '*+?{'.includes(ch) || ch.charCodeAt(0) > 0x7e || ch.charCodeAt(0) < 0x20) return null;
  c.i++;
  // RE2's '.' stops only at \n; JS's also at \r, U+2028 and U+2029.
  if (ch === '.') return dotAll ? '[\\s\\S]' : '[^\\n]';
  if (ch === '^' || ch === '$') return ch;
  return /[A-Za-z0-9 ]/.test(ch) ? ch : `\\${ch}`;
}

/** The prefix of an RE2 source (after the rule's leading \b was removed) as a sticky JS RegExp, or null. */
export function prefixFilter(re2Source: string): RegExp | null {
  const flags = /^\(\?([a-zA-Z]+)\)/.exec(re2Source);
  if (flags && !/^[ims]+$/.test(flags[1]!)) return null;
  const c: Cursor = { src: re2Source, i: flags ? flags[0].length : 0 };
  const dotAll = flags?.[1]!.includes('s') ?? false;
  if (groupEnd(`(${re2Source.slice(c.i)})`, 0)?.alternation !== false) return null;
  const closes: number[] = [];
  let out = '';
  let atoms = 0;
  let unbounded = 0;
  let variation = 1;
  while (c.i < re2Source.length) {
    const atom = atomOf(c, dotAll, closes);
    if (atom === null) break;
    if (atom === '') continue;
    const r = repeatOf(c);
    if (r === null) break;
    const [min, max] = r;
    const zeroWidth = atom === '^' || atom === '$' || atom === '\\b' || atom === '\\B';
    if (zeroWidth && (min !== 1 || max !== 1)) break;
    const over = max === Infinity ? unbounded + 1 > 1 : variation * (max - min + 1) > MAX_VARIATION;
    if (over) {
      // The first `min` repetitions are still required; what follows them starts at no fixed place.
      if (min > 0) out += `${atom}{${min}}`;
      break;
    }
    if (max === Infinity) unbounded++;
    else variation *= max - min + 1;
    out += min === 1 && max === 1 ? atom : `${atom}{${min},${max === Infinity ? '' : max}}`;
    if (!zeroWidth) atoms++;
  }
  if (atoms === 0) return null;
  try {
    return new RegExp(out, `${(flags?.[1] ?? '').replace('s', '')}y`);
  } catch {
    return null;
  }
}
