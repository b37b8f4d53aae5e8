// Random strings that match a rule's regex (the RE2 subset the pack uses), so the detection corpus covers
// every rule without a hand-written example per rule. Negated classes draw from a realistic token alphabet.
import { randomInt } from 'node:crypto';

type Node =
  | { t: 'lit'; c: string }
  | { t: 'set'; chars: string }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'empty' };

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const WORD = UPPER + LOWER + DIGITS + '_';
const TOKENISH = UPPER + LOWER + DIGITS + '-_./+';
const SPACE = ' ';
const PRINTABLE = TOKENISH + '=:;,!@#%&*';
const BASE64_LINES = UPPER + LOWER + DIGITS + '+/\n';

function classEscape(c: string): string {
  switch (c) {
    case 'd':
      return DIGITS;
    case 'w':
      return WORD;
    case 's':
      return SPACE;
    case 'S':
      return TOKENISH;
    case 'n':
      return '\n';
    case 't':
      return '\t';
    default:
      return c;
  }
}

class Parser {
  i = 0;
  readonly src: string;
  constructor(src: string) {
    this.src = src;
  }
  parseAlt(): Node {
    const options: Node[] = [this.parseSeq()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.parseSeq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }
  parseSeq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') items.push(this.parseRepeat(this.parseAtom()));
    return { t: 'seq', items };
  }
  parseRepeat(node: Node): Node {
    const c = this.src[this.i];
    let min = 1;
    let max = 1;
    if (c === '*') [min, max] = [0, 6];
    else if (c === '+') [min, max] = [1, 6];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? min + 8 : Number(m[3]);
      this.i += m[0].length - 1;
    } else return node;
    this.i++;
    if (this.src[this.i] === '?') this.i++;
    return this.parseRepeat({ t: 'rep', node, min, max });
  }
  parseAtom(): Node {
    const c = this.src[this.i++]!;
    if (c === '(') {
      if (this.src.startsWith('?:', this.i)) this.i += 2;
      else if (this.src[this.i] === '?') {
        while (this.src[this.i] !== ')') this.i++;
        this.i++;
        return { t: 'empty' };
      }
      const inner = this.parseAlt();
      this.i++;
      return inner;
    }
    if (c === '[') return this.parseClass();
    if (c === '\\') {
      const e = this.src[this.i++]!;
      if (e === 'b' || e === 'B') return { t: 'empty' };
      return e === 'd' || e === 'w' || e === 's' || e === 'S' ? { t: 'set', chars: classEscape(e) } : { t: 'lit', c: classEscape(e) };
    }
    if (c === '^' || c === '$') return { t: 'empty' };
    if (c === '.') return { t: 'set', chars: TOKENISH };
    return { t: 'lit', c };
  }
  parseClass(): Node {
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    let chars = '';
    let first = true;
    while (first || this.src[this.i] !== ']') {
      first = false;
      let c = this.src[this.i++]!;
      if (c === '\\') c = classEscape(this.src[this.i++]!);
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && c.length === 1) {
        this.i++;
        let hi = this.src[this.i++]!;
        if (hi === '\\') hi = this.src[this.i++]!;
        for (let k = c.charCodeAt(0); k <= hi.charCodeAt(0); k++) chars += String.fromCharCode(k);
      } else chars += c;
    }
    this.i++;
    if (negate) chars = [...PRINTABLE].filter((x) => !chars.includes(x)).join('');
    // [\s\S] style classes: tokens, not arbitrary bytes
    if (chars.includes(' ') && chars.includes('A') && chars.includes('a') && chars.length > 60) chars = BASE64_LINES;
    return { t: 'set', chars };
  }
}

function gen(node: Node): string {
  switch (node.t) {
    case 'lit':
      return node.c;
    case 'set':
      return node.chars[randomInt(node.chars.length)] ?? '';
    case 'seq':
      return node.items.map(gen).join('');
    case 'alt':
      return gen(node.options[randomInt(node.options.length)]!);
    case 'rep': {
      const n = node.min + randomInt(Math.min(node.max, node.min + 40) - node.min + 1);
      let s = '';
      for (let k = 0; k < n; k++) s += gen(node.node);
      return s;
    }
    case 'empty':
      return '';
  }
}

export function generator(regex: string): () => string {
  const tree = new Parser(regex.replace(/^\(\?[a-z]+\)/, '')).parseAlt();
  return () => gen(tree);
}
