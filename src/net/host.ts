// One canonical spelling for every host Sluice decides on and dials (THREATS 2.1). The WHATWG URL host parser
// does the IDNA (UTS #46) mapping and the IPv4 number parsing, because it is the parser the rest of the
// ecosystem (undici, fetch, browsers) uses: a hand-written parser next to it would be a differential. Before it
// runs, a strict character check rejects everything that parser would silently repair or truncate on (NUL,
// '%', userinfo, zone ids, invisible code points); after it, the result must be LDH labels, dotted-decimal
// IPv4 or an IPv6 literal, or it is refused.
import { domainToASCII, domainToUnicode } from 'node:url';
import ipaddr from 'ipaddr.js';
import { BadRequestError } from '../errors.ts';

export type HostKind = 'name' | 'ipv4' | 'ipv6';

export interface CanonicalHost {
  readonly host: string;
  readonly kind: HostKind;
}

/** Longer than any DNS name even in Unicode; stops pathological inputs before IDNA runs. */
const MAX_RAW_HOST = 1024;
const MAX_NAME = 253;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const ASCII_NAME_CHARS = /^[A-Za-z0-9.-]$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
// Code points UTS #46 maps to nothing or that render invisibly: "exa\u00ADmple" and "ex\u200Bample" would
// both become "example", so a string check and the dialled name could see different hosts.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}\p{White_Space}\p{Default_Ignorable_Code_Point}]/u;

function reject(raw: string, why: string): never {
  throw new BadRequestError(`The host ${JSON.stringify(truncate(raw))} is not valid: ${why}.`);
}

function truncate(raw: string): string {
  return raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
}

/**
 * Canonical host for SNI, policy, explain and dialling. Accepts a name (Unicode or ASCII, at most one trailing
 * dot), an IPv4 address in any spelling the WHATWG URL parser accepts, or an IPv6 literal with or without
 * brackets (no zone id). IPv4-mapped IPv6 becomes the IPv4 address it designates.
 */
export function canonicalHost(raw: string): CanonicalHost {
  const known = canonicalised.get(raw);
  if (known !== undefined) return known;
  const result = Object.freeze(canonicalise(raw));
  // Bounded by clearing, not by eviction order: an agent spraying fresh names can only make the cache miss (the
  // cost is the work it would have saved), never grow. Refusals are not kept; they throw every time.
  if (canonicalised.size >= CANONICAL_CACHE_ENTRIES) canonicalised.clear();
  canonicalised.set(raw, result);
  return result;
}

/**
 * The same spelling is canonicalised for every request of a tunnel (its Host header) and every CONNECT to a
 * host, and the work (a character scan, the WHATWG parser, label checks) is a pure function of the text, so the
 * answer is kept. At most this many spellings; MAX_RAW_HOST bounds each.
 */
const CANONICAL_CACHE_ENTRIES = 1024;
const canonicalised = new Map<string, CanonicalHost>();

function canonicalise(raw: string): CanonicalHost {
  if (raw.length === 0) reject(raw, 'it is empty');
  if (raw.length > MAX_RAW_HOST) reject(raw, 'it is too long');
  if (raw.startsWith('[') || raw.endsWith(']')) {
    if (!raw.startsWith('[') || !raw.endsWith(']')) reject(raw, 'unbalanced brackets');
    return canonicalIpv6(raw, raw.slice(1, -1));
  }
  if (raw.includes(':')) return canonicalIpv6(raw, raw);
  return canonicalNameOrIpv4(raw);
}

function canonicalIpv6(raw: string, inner: string): CanonicalHost {
  if (inner.includes('%')) reject(raw, 'IPv6 zone identifiers are not accepted');
  // Brackets only ever hold an IPv6 literal: "[allowed.test]" was stripped unchecked by other sandboxes.
  if (!IPV6_CHARS.test(inner) || !inner.includes(':')) reject(raw, 'brackets may only contain an IPv6 address');
  const parsed = whatwgHost(`[${inner}]`);
  if (parsed === null || !parsed.startsWith('[')) reject(raw, 'it is not a valid IPv6 address');
  return fromIpv6(parsed.slice(1, -1));
}

/** RFC 5952 text, except that an IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 host it reaches. */
function fromIpv6(text: string): CanonicalHost {
  const address = ipaddr.IPv6.parse(text);
  if (address.isIPv4MappedAddress()) return { host: address.toIPv4Address().toString(), kind: 'ipv4' };
  return { host: address.toRFC5952String(), kind: 'ipv6' };
}

function canonicalNameOrIpv4(raw: string): CanonicalHost {
  for (const ch of raw) {
    if (ch.codePointAt(0)! < 0x80) {
      if (!ASCII_NAME_CHARS.test(ch)) reject(raw, `the character ${JSON.stringify(ch)} is not allowed in a host name`);
    } else if (INVISIBLE.test(ch)) {
      reject(raw, `it contains the invisible or control code point U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
    }
  }
  const parsed = whatwgHost(raw);
  if (parsed === null || parsed.length === 0) reject(raw, 'it is neither a DNS name nor an IP address');
  if (parsed.startsWith('[')) return fromIpv6(parsed.slice(1, -1));
  if (DOTTED_QUAD.test(parsed) && ipaddr.IPv4.isValidFourPartDecimal(parsed)) return { host: parsed, kind: 'ipv4' };
  return { host: checkName(raw, parsed), kind: 'name' };
}

/** The host the WHATWG URL parser derives, or null where it refuses. */
function whatwgHost(host: string): string | null {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return null;
  }
}

function checkName(raw: string, ascii: string): string {
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (name.length === 0) reject(raw, 'it has no labels');
  if (name.length > MAX_NAME) reject(raw, `a DNS name has at most ${MAX_NAME} characters`);
  for (const label of name.split('.')) {
    if (label.length === 0) reject(raw, 'it has an empty label (two dots in a row, or more than one trailing dot)');
    if (!LDH_LABEL.test(label)) {
      reject(raw, `the label ${JSON.stringify(label)} is not letters, digits and inner hyphens of at most 63 characters`);
    }
    if (label.startsWith('xn--') && !isValidALabel(label)) reject(raw, `the label ${JSON.stringify(label)} is not valid punycode`);
  }
  return name;
}

/** An A-label must decode, and encode back to itself; otherwise two spellings could name one label. */
function isValidALabel(label: string): boolean {
  const unicode = domainToUnicode(label);
  return unicode !== label && unicode.length > 0 && domainToASCII(unicode) === label;
}
