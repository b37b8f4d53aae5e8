// Small text measures shared by the stages.

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function isWordCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** Values copied from vendor documentation, recognised whole (AWS publishes these as its example keys). */
const DOCUMENTATION_VALUES = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'AKIAI44QH8DHBEXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'ASIAIOSFODNN7EXAMPLE',
]);

/**
 * Words that template values are written with ("your-api-key-here", "FAKE_TOKEN_FOR_TESTS"). A token counts as
 * a placeholder word only when it is made of these words from end to end: a word that merely occurs inside a
 * random body ("…q8fAKEz…") is chance, and dismissing it would be a recall hole.
 */
const PLACEHOLDER_WORDS = [
  'your', 'my', 'our', 'the', 'this', 'is', 'to', 'me', 'id', 'of', 'for', 'and', 'or', 'not', 'no', 'only', 'with', 'here', 'goes', 'put', 'insert', 'enter',
  'replace', 'change', 'changeme', 'api', 'key', 'keys', 'token', 'tokens', 'secret', 'secrets', 'password', 'passwd', 'pass', 'access', 'auth', 'value', 'string',
  'fake', 'dummy', 'test', 'tests', 'testing', 'sample', 'example', 'placeholder', 'redacted', 'demo', 'mock', 'foo', 'bar', 'baz', 'todo', 'tbd', 'none', 'null',
  'empty', 'default', 'abc', 'xyz', 'xxx', 'xx', 'dev', 'local', 'app', 'user', 'name', 'client', 'private', 'public', 'bot', 'webhook', 'url', 'account', 'project',
];
const WORDS = new Set(PLACEHOLDER_WORDS);
const MAX_WORD = Math.max(...PLACEHOLDER_WORDS.map((w) => w.length));
/** More characters than this outside template words (prefixes such as sk-ant-api03 fit) means real key material. */
const MAX_NON_WORD = 12;

/** Can `s` (lower case) be cut into placeholder words from end to end? */
function isWordSequence(s: string): boolean {
  const ok = new Uint8Array(s.length + 1);
  ok[0] = 1;
  for (let i = 0; i < s.length; i++) {
    if (ok[i] !== 1) continue;
    for (let n = 2; n <= MAX_WORD && i + n <= s.length; n++) if (WORDS.has(s.slice(i, i + n))) ok[i + n] = 1;
  }
  return ok[s.length] === 1;
}

/**
 * The value is template words plus a short prefix (sk-ant-api03-YOUR_API_KEY_HERE, xoxb-your-token-here): the
 * characters outside the words are too few to be key material, wherever the separators fall.
 */
function madeOfWords(value: string): boolean {
  let words = 0;
  let other = 0;
  for (const seg of value.split(/[^A-Za-z0-9]+/)) {
    const letters = seg.replace(/\d+$/, '');
    if (letters.length >= 3 && !/^[0-9a-fA-F]+$/.test(letters) && isWordSequence(letters.toLowerCase())) {
      words += letters.length;
      other += seg.length - letters.length;
    } else other += seg.length;
    if (other > MAX_NON_WORD) return false;
  }
  return words >= 4;
}

/**
 * A run of one repeated character or a straight sequence (aaaaaa, 123456, abcdef) long enough that a random
 * segment over its own alphabet would produce it less than once in ten million values, or a segment that is such
 * a run from end to end (password "12345678").
 */
function hasImprobableRun(value: string): boolean {
  for (const seg of value.split(/[^A-Za-z0-9]+/)) {
    if (seg.length < 6) continue;
    const alphabet = Math.max(10, new Set(seg).size);
    const needed = 1 + Math.ceil(Math.log(value.length * 1e7) / Math.log(alphabet));
    let same = 1;
    let up = 1;
    let down = 1;
    let longest = 1;
    for (let i = 1; i < seg.length; i++) {
      const c = seg.charCodeAt(i);
      const p = seg.charCodeAt(i - 1);
      same = c === p ? same + 1 : 1;
      up = c === p + 1 ? up + 1 : 1;
      down = c === p - 1 ? down + 1 : 1;
      longest = Math.max(longest, same, up, down);
    }
    if (longest >= needed || longest === seg.length) return true;
  }
  return false;
}

/**
 * Documentation and template values (AKIAIOSFODNN7EXAMPLE, xxxx…, <token>, ${TOKEN}, your-key-here, a run of one
 * character) are not secrets: reporting them would teach operators to ignore findings. Only the value as a whole
 * or its structure decides, never a word found inside an otherwise random body.
 */
export function looksLikePlaceholder(value: string): boolean {
  if (DOCUMENTATION_VALUES.has(value)) return true;
  // AWS's documented convention: example keys carry EXAMPLE (or example) verbatim; random bodies do not.
  if (value.includes('EXAMPLE') || value.includes('example')) return true;
  if (value.includes('${') || value.includes('{{') || value.includes('%(') || value.includes('...') || value.includes('***') || value.includes('sluice:')) return true;
  if (value.includes('<') && value.includes('>')) return true;
  if (/[xX]{8}/.test(value)) return true;
  if (hasImprobableRun(value)) return true;
  if (madeOfWords(value)) return true;
  // Very low entropy over a long value (abababab…, 0101…): no key generator produces that.
  return value.length >= 20 && shannonEntropy(value) < 2;
}
