// Replace an agent's placeholder with the real value on the host bound to it. Every replacement is one pass
// over the input with all forms of the placeholder at once, so the output is never scanned again: a value
// that itself contains a placeholder (its own or another secret's) is written as is, never expanded.
import { Transform } from 'node:stream';
import { placeholderForms } from '../policy/credential.ts';
import type { CredentialSpec } from '../policy/types.ts';
import type { SecretValue } from '../secrets/types.ts';

export type PlaceholderContext = 'header' | 'url' | 'json' | 'form' | 'raw';

/** [form of the placeholder as it may appear, what replaces it]. */
export type Replacement = readonly [string, string];

/**
 * Forms: the placeholder as written, and percent-encoded (upper- and lower-case hex). The value is written
 * in the encoding its surroundings need: percent-encoded where the placeholder was (URLs, form bodies,
 * percent-encoded inside JSON), JSON-escaped inside JSON, raw otherwise.
 */
export function placeholderReplacements(placeholder: string, value: string, context: PlaceholderContext): Replacement[] {
  const pct = encodeURIComponent(value);
  const raw = context === 'url' || context === 'form' ? pct : context === 'json' ? JSON.stringify(value).slice(1, -1) : value;
  return placeholderForms(placeholder).map((form): Replacement => [form, form === placeholder ? raw : pct]);
}

export function replaceAllForms(text: string, replacements: readonly Replacement[]): string {
  if (!replacements.some(([form]) => text.includes(form))) return text;
  const byForm = new Map(replacements);
  const alternation = [...byForm.keys()]
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))
    .join('|');
  return text.replace(new RegExp(alternation, 'g'), (m) => byForm.get(m) ?? m);
}

export function bodyContext(contentType: string): PlaceholderContext {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/json' || type.endsWith('+json') || type === 'application/x-ndjson' || type === 'application/jsonl') return 'json';
  return 'raw';
}

/**
 * Streaming replacement, correct across chunk boundaries: only a match that starts at least `longest`
 * bytes before the end of what has arrived is committed, and at most longest-1 bytes are held back.
 */
export function createPlaceholderBodyTransform(spec: CredentialSpec, value: SecretValue, contentType: string): Transform {
  const forms = placeholderReplacements(spec.placeholder, value.reveal(), bodyContext(contentType)).map(
    ([f, r]) => [Buffer.from(f, 'utf8'), Buffer.from(r, 'utf8')] as const,
  );
  const longest = Math.max(...forms.map(([f]) => f.length));
  let held: Buffer = Buffer.alloc(0);

  const step = (data: Buffer, final: boolean): Buffer[] => {
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const m = earliest(data, pos, forms);
      if (!m || (!final && m.index > data.length - longest)) break;
      out.push(data.subarray(pos, m.index), m.replacement);
      pos = m.index + m.length;
    }
    const keepFrom = final ? data.length : Math.max(pos, data.length - (longest - 1));
    out.push(data.subarray(pos, keepFrom));
    held = Buffer.from(data.subarray(keepFrom));
    return out;
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const parts = step(held.length > 0 ? Buffer.concat([held, chunk]) : chunk, false);
      const out = Buffer.concat(parts);
      done(null, out.length > 0 ? out : undefined);
    },
    flush(done) {
      const out = Buffer.concat(step(held, true));
      done(null, out.length > 0 ? out : undefined);
    },
  });
}

function earliest(
  data: Buffer,
  from: number,
  forms: readonly (readonly [Buffer, Buffer])[],
): { index: number; length: number; replacement: Buffer } | null {
  let best: { index: number; length: number; replacement: Buffer } | null = null;
  for (const [form, replacement] of forms) {
    const i = data.indexOf(form, from);
    if (i < 0) continue;
    if (!best || i < best.index || (i === best.index && form.length > best.length)) best = { index: i, length: form.length, replacement };
  }
  return best;
}
