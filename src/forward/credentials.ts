// Strip what the agent sends, then inject what the policy binds (THREATS 2.6). Header lists are arrays of
// [name, value] pairs with names as received, so duplicated and odd-cased copies are all seen.
import { SecretUnavailableError } from '../errors.ts';
import { placeholderForms, renderCredential } from '../policy/credential.ts';
import type { CredentialSpec } from '../policy/types.ts';
import type { SecretValue } from '../secrets/types.ts';
import { placeholderReplacements, replaceAllForms } from './placeholders.ts';

export { createPlaceholderBodyTransform } from './placeholders.ts';

/** Headers that carry credentials in common APIs; an agent's copy never reaches an upstream. */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'cookie2',
  'x-api-key',
  'api-key',
  'apikey',
  'x-apikey',
  'x-api-token',
  'private-token', // GitLab
  'job-token', // GitLab CI
  'x-goog-api-key', // Google
  'x-auth-token',
  'x-access-token',
  'x-auth-key', // Cloudflare global key
  'x-amz-security-token', // AWS session credentials
  'ocp-apim-subscription-key', // Azure API Management
  'x-functions-key', // Azure Functions
  'x-vault-token',
  'x-figma-token',
  'x-shopify-access-token',
  'x-csrf-token',
  'x-xsrf-token',
]);

type Pairs = ReadonlyArray<readonly [string, string]>;
export interface Head {
  target: string;
  headers: [string, string][];
}

const DEFAULT_DROPPED: ReadonlySet<string> = new Set(DEFAULT_CREDENTIAL_HEADERS);

export function stripAgentCredentials(headers: Pairs, extra: readonly string[]): { headers: [string, string][]; stripped: string[] } {
  // The defaults are one set for the process; a host's extra names are few, so a list is searched (no set per request).
  const extraLower = extra.length === 0 ? extra : extra.map((h) => h.toLowerCase());
  const kept: [string, string][] = [];
  const stripped: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (DEFAULT_DROPPED.has(lower) || extraLower.includes(lower)) {
      if (!stripped.includes(lower)) stripped.push(lower);
    } else kept.push([name, value]);
  }
  return { headers: kept, stripped };
}

/** Sets the credential exactly once: every existing copy of the header (any case) or query parameter goes first. */
export function injectCredential(head: Head, spec: CredentialSpec, value: SecretValue): Head {
  const rendered = renderCredential(spec.format, value.reveal());
  if (spec.in === 'query') {
    if (spec.query === null) throw new SecretUnavailableError(spec.secret);
    return { target: setQueryParam(head.target, spec.query, rendered), headers: [...head.headers] };
  }
  assertHeaderValue(rendered, spec);
  const lower = spec.header.toLowerCase();
  const headers = head.headers.filter(([n]) => n.toLowerCase() !== lower);
  headers.push([spec.header, rendered]);
  return { target: head.target, headers };
}

/** The placeholder in header values (as is or percent-encoded) and anywhere in the target (path and query). */
export function replacePlaceholders(head: Head, spec: CredentialSpec, value: SecretValue): Head {
  // Most requests carry no placeholder once the agent's credential headers are stripped: look for its spellings
  // before the value's encodings are computed.
  const forms = placeholderForms(spec.placeholder);
  const carries = (s: string) => forms.some((f) => s.includes(f));
  if (!carries(head.target) && !head.headers.some(([, v]) => carries(v))) return { target: head.target, headers: head.headers.map(([n, v]) => [n, v]) };
  const inHeader = placeholderReplacements(spec.placeholder, value.reveal(), 'header');
  const inUrl = placeholderReplacements(spec.placeholder, value.reveal(), 'url');
  const headers = head.headers.map(([n, v]): [string, string] => {
    const replaced = replaceAllForms(v, inHeader);
    if (replaced !== v) assertHeaderValue(replaced, spec);
    return [n, replaced];
  });
  return { target: replaceAllForms(head.target, inUrl), headers };
}

/**
 * RFC 9110 field values are visible ASCII, obs-text, SP and HTAB. A value with CR or LF would split the
 * header (request smuggling with our own credential); such a secret is unusable, not something to send.
 */
function assertHeaderValue(v: string, spec: CredentialSpec): void {
  if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) throw new SecretUnavailableError(spec.secret);
}

function setQueryParam(target: string, name: string, value: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const params = q < 0 ? [] : target.slice(q + 1).split('&');
  // The agent's own copy goes whatever way it spelled the name (`api%5Fkey`, `api_key`).
  const kept = params.filter((p) => p !== '' && decodeName(p.split('=')[0] ?? '') !== name);
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return `${path}?${kept.join('&')}`;
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}
