// Turn a `credential:` block (full form or `type:` shorthand) into the one CredentialSpec the injector reads.
import type { CredentialInput } from './schema.ts';
import type { CredentialSpec } from './types.ts';

export type CredentialResult = { ok: true; spec: CredentialSpec } | { ok: false; key: string; message: string };

const SECRET_TOKEN = '{secret}';
const BASIC_TOKEN = /\{basic:([^:{}\s]+)\}/;

export function defaultPlaceholder(secret: string): string {
  return `sluice:${secret}`;
}

const formsOf = new Map<string, readonly string[]>();
const MAX_REMEMBERED_FORMS = 1024;

/**
 * The spellings of a placeholder that count as it: as written first, then percent-encoded with upper- and with
 * lower-case hex where those differ; empty forms dropped. Shared by the injector (which replaces them) and the
 * guard (which blocks them on other hosts), so the two can never disagree on what a placeholder looks like.
 * Remembered per placeholder: the injector asks on every request, and placeholders come from the policy.
 */
export function placeholderForms(placeholder: string): readonly string[] {
  let forms = formsOf.get(placeholder);
  if (forms === undefined) {
    const encoded = encodeURIComponent(placeholder);
    const lower = encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
    forms = Object.freeze([...new Set([placeholder, encoded, lower])].filter((f) => f.length > 0));
    if (formsOf.size >= MAX_REMEMBERED_FORMS) formsOf.clear();
    formsOf.set(placeholder, forms);
  }
  return forms;
}

export function normaliseCredential(c: CredentialInput): CredentialResult {
  const shorthand = fromType(c);
  if (!shorthand.ok) return shorthand;
  const s = shorthand.value;
  const where = c.in ?? s.in ?? (c.query !== undefined ? 'query' : 'header');
  if (where === 'query' && c.header !== undefined) return fail('header', '"header" does not apply to a credential sent in the query');
  const query = c.query ?? null;
  if (where === 'query' && query === null) return fail('in', 'a credential sent in the query needs "query: PARAM"');
  if (where === 'header' && query !== null) return fail('query', '"query" needs "in: query"');
  const header = where === 'query' ? '' : (c.header ?? s.header ?? 'Authorization');
  const isAuthorization = header.toLowerCase() === 'authorization';
  const format = c.format ?? s.format ?? (isAuthorization ? 'Bearer {secret}' : SECRET_TOKEN);
  const tokens = countTokens(format);
  if (tokens !== 1) {
    return fail('format', `format must contain exactly one "{secret}" (or "{basic:USERNAME}"), got ${JSON.stringify(format)}`);
  }
  if (/[\r\n\0]/.test(format)) return fail('format', 'format cannot contain line breaks');
  const spec: CredentialSpec = Object.freeze({
    secret: c.secret,
    in: where,
    header,
    format,
    query,
    placeholder: c.placeholder ?? defaultPlaceholder(c.secret),
  });
  return { ok: true, spec };
}

interface Shorthand {
  in?: 'header' | 'query';
  header?: string;
  format?: string;
}

function fromType(c: CredentialInput): { ok: true; value: Shorthand } | { ok: false; key: string; message: string } {
  if (c.type !== 'basic' && c.username !== undefined) return fail('username', '"username" needs "type: basic"');
  if (c.type !== undefined && c.format !== undefined) return fail('format', `"format" cannot be combined with "type: ${c.type}"`);
  switch (c.type) {
    case undefined:
      return { ok: true, value: {} };
    case 'bearer':
      if (c.in === 'query') return fail('in', '"type: bearer" is a header credential');
      return { ok: true, value: { in: 'header', format: 'Bearer {secret}' } };
    case 'basic':
      if (c.username === undefined) return fail('type', '"type: basic" needs "username" (the secret is the password)');
      if (c.in === 'query') return fail('in', '"type: basic" is a header credential');
      return { ok: true, value: { in: 'header', format: `Basic {basic:${c.username}}` } };
    case 'header':
      if (c.header === undefined) return fail('type', '"type: header" needs "header: NAME" (e.g. x-api-key)');
      return { ok: true, value: { in: 'header', format: SECRET_TOKEN } };
    case 'query':
      if (c.query === undefined) return fail('type', '"type: query" needs "query: PARAM"');
      return { ok: true, value: { in: 'query', format: SECRET_TOKEN } };
  }
}

function countTokens(format: string): number {
  const secrets = format.split(SECRET_TOKEN).length - 1;
  const basics = format.split(BASIC_TOKEN).length > 1 ? (format.match(new RegExp(BASIC_TOKEN.source, 'g')) ?? []).length : 0;
  return secrets + basics;
}

function fail(key: string, message: string): { ok: false; key: string; message: string } {
  return { ok: false, key, message };
}

/**
 * Build the value the injector sets, given the secret's plain text. Exported so the injector and tests share one
 * reading of `{secret}` and `{basic:USERNAME}` (RFC 7617: base64 of "username:password", the secret as password).
 */
export function renderCredential(format: string, secret: string): string {
  const basic = BASIC_TOKEN.exec(format);
  if (basic) return format.replace(basic[0], () => Buffer.from(`${basic[1] ?? ''}:${secret}`, 'utf8').toString('base64'));
  // A function replacer: a secret containing "$&" must not be read as a replacement pattern.
  return format.replace(SECRET_TOKEN, () => secret);
}
