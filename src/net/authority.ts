// Authority parsing (THREATS 2.1, 2.3): CONNECT targets, Host headers and absolute-form request targets all
// become one canonical Authority, and that value is what policy decides on, what a credential is bound to and
// what is dialled. Everything ambiguous is a 400: Node's http.Server hands us "evil.test%00.allowed.test:443"
// and "host" without a port as they came, and new URL() repairs "a.test%2f@evil.test" into evil.test.
import { BadRequestError } from '../errors.ts';
import { canonicalHost } from './host.ts';
import type { HostKind } from './host.ts';
import { checkQuery, normalisePath } from './path.ts';

export { canonicalHost } from './host.ts';
export type { CanonicalHost, HostKind } from './host.ts';
export { normalisePath, parseOriginTarget } from './path.ts';

export interface Authority {
  readonly host: string;
  readonly port: number;
  readonly kind: HostKind;
}

export interface AbsoluteTarget {
  readonly scheme: 'http' | 'https';
  readonly authority: Authority;
  /** Normalised with normalisePath: the exact path decided on and forwarded. */
  readonly path: string;
  /** The raw query without '?', or '' (an empty query "?" is dropped). Checked, not rewritten. */
  readonly query: string;
}

const MAX_AUTHORITY = 1100;
// RFC 3986 port = *DIGIT, narrowed: 1..65535 in plain decimal. "+443", "0443" and "443 " are refused rather
// than read as 443, and nothing wraps at 16 bits (65979 is not 443).
const PORT = /^[1-9][0-9]{0,4}$/;
const DEFAULT_PORTS = { http: 80, https: 443 } as const;

function reject(raw: string, why: string): never {
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  throw new BadRequestError(`The authority ${JSON.stringify(shown)} is not valid: ${why}.`);
}

function rejectTarget(raw: string, why: string): never {
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  throw new BadRequestError(`The request URL ${JSON.stringify(shown)} is not valid: ${why}.`);
}

/** Characters no authority may contain, checked before any splitting so that error messages are precise. */
function checkAuthorityChars(raw: string): void {
  if (raw.length === 0) reject(raw, 'it is empty');
  if (raw.length > MAX_AUTHORITY) reject(raw, 'it is too long');
  // NUL and friends: getaddrinfo truncates at NUL, so "attacker\0.allowed.test" would dial "attacker".
  if (/[\u0000-\u0020\u007f-\u009f]/.test(raw)) reject(raw, 'it contains a control character or whitespace');
  if (raw.includes('@')) reject(raw, 'userinfo ("user@") is not accepted');
  if (raw.includes('%')) reject(raw, 'percent-encoding and IPv6 zone identifiers are not accepted');
  if (/[/\\?#]/.test(raw)) reject(raw, 'it contains "/", "\\", "?" or "#"');
}

function parsePort(raw: string, text: string): number {
  if (!PORT.test(text)) reject(raw, `the port ${JSON.stringify(text)} is not a decimal number from 1 to 65535 without leading zeros or signs`);
  const port = Number(text);
  if (port > 65535) reject(raw, `the port ${text} is above 65535`);
  return port;
}

/** Splits "host:port", "[v6]:port", "host" or "[v6]"; the port text is null when absent. */
function splitHostPort(raw: string): { hostText: string; portText: string | null } {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close === -1) reject(raw, 'an opening "[" has no closing "]"');
    const rest = raw.slice(close + 1);
    if (rest === '') return { hostText: raw.slice(0, close + 1), portText: null };
    if (!rest.startsWith(':')) reject(raw, 'only ":port" may follow an IPv6 literal');
    return { hostText: raw.slice(0, close + 1), portText: rest.slice(1) };
  }
  const colon = raw.lastIndexOf(':');
  if (colon === -1) return { hostText: raw, portText: null };
  const hostText = raw.slice(0, colon);
  // sandbox-runtime split CONNECT targets on ':' and broke on IPv6; an IPv6 literal must be bracketed here.
  if (hostText.includes(':')) reject(raw, 'an IPv6 address must be written in brackets, like [2001:db8::1]:443');
  if (hostText.includes('[') || hostText.includes(']')) reject(raw, 'brackets may only surround an IPv6 address');
  return { hostText, portText: colon === raw.length - 1 ? '' : raw.slice(colon + 1) };
}

function parseAuthority(raw: string, defaultPort: number | null): Authority {
  checkAuthorityChars(raw);
  const { hostText, portText } = splitHostPort(raw);
  if (portText === null && defaultPort === null) reject(raw, 'a CONNECT target needs an explicit port, like example.com:443');
  if (hostText === '') reject(raw, 'the host is empty');
  const port = portText === null ? defaultPort! : parsePort(raw, portText);
  const { host, kind } = canonicalHost(hostText);
  return Object.freeze({ host, port, kind });
}

/** CONNECT request-target: authority-form only (RFC 9110 9.3.6), port required. */
export function parseConnectAuthority(raw: string): Authority {
  return parseAuthority(raw, null);
}

/** Host header value; the port is optional and defaults to `defaultPort`. */
export function parseHostHeader(raw: string, defaultPort: number): Authority {
  return parseAuthority(raw, defaultPort);
}

/**
 * Absolute-form request-target "http://host[:port]/path?query" (RFC 9112 3.2.2). No userinfo, no fragment,
 * no backslash, no percent-encoding in the host; the path is normalised. An empty path is "/".
 */
export function parseAbsoluteTarget(rawTarget: string): AbsoluteTarget {
  // Orange Tsai's SSRF differentials hinge on '\\' and '#' being read differently by two parsers.
  if (/[\u0000-\u0020\u007f-\uffff]/.test(rawTarget)) rejectTarget(rawTarget, 'the URL contains a control character, whitespace or a non-ASCII byte');
  if (rawTarget.includes('\\')) rejectTarget(rawTarget, 'the URL contains a backslash');
  if (rawTarget.includes('#')) rejectTarget(rawTarget, 'the URL contains a fragment ("#")');
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(.*)$/s.exec(rawTarget);
  if (match === null) rejectTarget(rawTarget, 'expected an absolute URL like http://host/path');
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') rejectTarget(rawTarget, `the scheme ${JSON.stringify(scheme)} is not http or https`);
  const authority = parseHostHeader(match[2]!, DEFAULT_PORTS[scheme]);
  const rest = match[3]!;
  const q = rest.indexOf('?');
  const rawPath = q === -1 ? rest : rest.slice(0, q);
  const path = normalisePath(rawPath === '' ? '/' : rawPath);
  const query = q === -1 ? '' : checkQuery(rest.slice(q + 1));
  return Object.freeze({ scheme, authority, path, query });
}

/** "host:port", with brackets around IPv6: the inverse of parseConnectAuthority on canonical values. */
export function formatAuthority(a: Authority): string {
  return a.kind === 'ipv6' ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Canonical values compare as strings; both sides must come from this module's parsers. */
export function sameAuthority(a: Authority, b: Authority): boolean {
  return a.host === b.host && a.port === b.port && a.kind === b.kind;
}
