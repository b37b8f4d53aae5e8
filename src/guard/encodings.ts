// The encoded forms under which a known value can leave in traffic (THREATS 2.7: gitleaks had to add base64,
// percent and unicode decoding because encoded secrets evaded scanning). Two kinds:
// - literal forms, found with indexOf: base64 and base64url at each of the three byte alignments (a value
//   inside a larger base64 blob, such as `Basic base64(user:secret)`, only shares the characters that
//   depend on the value alone), and hex in both cases;
// - one pattern per value where every character may be written literally, as %XX (any case, '+' for a
//   space), as a JSON \uXXXX escape (any case) or a JSON short escape, in any mix, so `ab%63d` and
//   `\u0061bcd` are the same value to the guard.

/** Base64 of the value as it appears inside a longer base64 text, for byte offsets 0, 1 and 2 mod 3. */
export function base64Cores(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const n = bytes.length;
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    // Characters before ceil(8k/6) mix prefix bits; characters from floor(8(k+n)/6) on mix what follows.
    out.push(enc.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + n)) / 6)));
  }
  return out;
}

export function toBase64Url(b64: string): string {
  return b64.replaceAll('+', '-').replaceAll('/', '_');
}

/** Literal forms other than the raw value (the pattern covers raw, percent and JSON forms). */
export function literalForms(value: string): string[] {
  const cores = base64Cores(value);
  const bytes = Buffer.from(value, 'utf8');
  const hex = bytes.toString('hex');
  // The whole padded encoding as well, so a redaction leaves no trailing character that mixes value bits.
  const whole = [bytes.toString('base64'), toBase64Url(bytes.toString('base64'))];
  const forms = [...whole, ...cores, ...cores.map(toBase64Url), hex, hex.toUpperCase()];
  return [...new Set(forms)].filter((f) => f.length > 0 && f !== value);
}

/** Concrete encodings of the whole value, for tests and for tools that print what is searched. */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const pct = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  const uEsc = [...value].map((c) => unicodeEscape(c)).join('');
  return [
    ...new Set([
      value,
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      pct,
      pct.toLowerCase(),
      encodeURIComponent(value),
      JSON.stringify(value).slice(1, -1),
      uEsc,
    ]),
  ];
}

const JSON_SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A regex source matching the value in any mix of literal, %XX, '+' and JSON escapes, and its longest match. */
export function escapedPattern(value: string): { source: string; maxLength: number } {
  let source = '';
  let maxLength = 0;
  for (const ch of value) {
    const alternatives = [escapeRegex(ch)];
    let longest = ch.length;
    const pct = [...Buffer.from(ch, 'utf8')].map((b) => `%${caseless(b.toString(16).padStart(2, '0'))}`).join('');
    alternatives.push(pct);
    longest = Math.max(longest, Buffer.byteLength(ch) * 3);
    if (ch === ' ') alternatives.push('\\+');
    const short = JSON_SHORT[ch];
    if (short !== undefined) alternatives.push(escapeRegex(short));
    let u = '';
    for (let i = 0; i < ch.length; i++) u += `\\\\u${caseless(ch.charCodeAt(i).toString(16).padStart(4, '0'))}`;
    alternatives.push(u);
    longest = Math.max(longest, ch.length * 6);
    source += `(?:${alternatives.join('|')})`;
    maxLength += longest;
  }
  return { source, maxLength };
}

function unicodeEscape(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** "3a" -> "3[aA]": hex digits in either case. */
function caseless(hex: string): string {
  return hex.replace(/[a-f]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
