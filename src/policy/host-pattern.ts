// Host patterns as written in policy entries, canonicalised once at load so that matching is plain string and
// byte comparison (THREATS 2.1: one canonical value; no regex next to a URL parser).
import net from 'node:net';
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { getPublicSuffix } from 'tldts';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export type HostPattern =
  | { readonly kind: 'exact'; readonly host: string; readonly text: string }
  | { readonly kind: 'wildcard'; readonly suffix: string; readonly text: string }
  | { readonly kind: 'any'; readonly text: string }
  | { readonly kind: 'ip'; readonly ip: string; readonly text: string }
  | { readonly kind: 'cidr'; readonly network: IpAddress; readonly prefix: number; readonly text: string };

export type PatternResult = { ok: true; pattern: HostPattern } | { ok: false; message: string };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Canonical text of an IP address: IPv4-mapped IPv6 becomes IPv4, IPv6 is RFC 5952. */
export function canonicalIp(ip: IpAddress): string {
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toRFC5952String();
  }
  return ip.toString();
}

/** Parse an IP literal strictly (dotted decimal only: "0x7f.1" and "127.1" are not addresses here). */
export function parseIp(text: string): IpAddress | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (net.isIP(bare) === 0) return null;
  const parsed = ipaddr.parse(bare);
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
}

/** Lower case, one trailing dot removed, IDN to A-labels (UTS #46), each label checked. Null when not a name. */
export function canonicalName(raw: string): string | null {
  if (raw.length === 0 || raw.length > 254 || /[\s%\\/@:#?\0]/.test(raw)) return null;
  const trimmed = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (ascii === '' || ascii.length > 253) return null;
  return ascii.split('.').every((l) => LABEL.test(l)) ? ascii : null;
}

export function parseHostPattern(raw: string): PatternResult {
  if (raw === '*') return { ok: true, pattern: { kind: 'any', text: '*' } };
  if (raw.includes('/')) return parseCidr(raw);
  const ip = parseIp(raw);
  if (ip) return { ok: true, pattern: { kind: 'ip', ip: canonicalIp(ip), text: canonicalIp(ip) } };
  if (/^\[.*\]$/.test(raw) || /^[\d.]+$/.test(raw)) return { ok: false, message: `"${raw}" is not a valid IP address` };
  if (/:\d+$/.test(raw)) return { ok: false, message: `"${raw}": put the port in "ports:", not in the host` };
  if (raw.startsWith('*.')) return parseWildcard(raw);
  if (raw.includes('*')) {
    return { ok: false, message: `"${raw}": a wildcard may only be the whole first label, as in "*.example.com"` };
  }
  const name = canonicalName(raw);
  if (name === null) return { ok: false, message: `"${raw}" is not a valid host name` };
  // WHATWG URL parsing reads a name whose last label is numeric as IPv4 ("0x7f.1" is 127.0.0.1), so such an
  // entry could never match the canonical host; write the address in dotted decimal instead.
  if (/(^|\.)(0x[0-9a-f]*|\d+)$/.test(name)) return { ok: false, message: `"${raw}" looks like an IP address in a non-standard spelling; write it as dotted decimal` };
  return { ok: true, pattern: { kind: 'exact', host: name, text: name } };
}

function parseWildcard(raw: string): PatternResult {
  const rest = raw.slice(2);
  if (rest.includes('*')) return { ok: false, message: `"${raw}": a wildcard may only be the whole first label, as in "*.example.com"` };
  const suffix = canonicalName(rest);
  if (suffix === null) return { ok: false, message: `"${raw}" is not a valid host pattern` };
  // A wildcard over a public suffix (*.com, *.co.uk) allows every domain anyone can register there.
  if (getPublicSuffix(suffix) === suffix) {
    return {
      ok: false,
      message: `"${raw}" would match every domain under the public suffix "${suffix}", which anyone can register; name a registrable domain instead, e.g. "*.example.${suffix}"`,
    };
  }
  return { ok: true, pattern: { kind: 'wildcard', suffix, text: `*.${suffix}` } };
}

function parseCidr(raw: string): PatternResult {
  const [addr = '', bits = '', extra] = raw.split('/');
  const ip = parseIp(addr);
  const max = ip?.kind() === 'ipv6' ? 128 : 32;
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!ip || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    return { ok: false, message: `"${raw}" is not a valid CIDR (expected e.g. "10.1.2.0/24" or "2001:db8::/32")` };
  }
  const network = ipaddr.parse(`${maskedNetwork(ip, prefix)}`);
  if (canonicalIp(network) !== canonicalIp(ip)) {
    return { ok: false, message: `"${raw}" has host bits set; did you mean "${canonicalIp(network)}/${prefix}"?` };
  }
  return { ok: true, pattern: { kind: 'cidr', network: ip, prefix, text: `${canonicalIp(ip)}/${prefix}` } };
}

/** Canonical text of the network an address belongs to at a prefix length ("10.1.2.3", 8 → "10.0.0.0"). */
export function maskedNetwork(ip: IpAddress, prefix: number): string {
  const bytes = ip.toByteArray();
  const out = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  return canonicalIp(ipaddr.fromByteArray(out));
}

/** Validate a CIDR list entry (allowPrivate); returns the canonical text or an error message. */
export function parseCidrText(raw: string): { ok: true; text: string } | { ok: false; message: string } {
  const asCidr = raw.includes('/') ? raw : `${raw}/${parseIp(raw)?.kind() === 'ipv6' ? 128 : 32}`;
  const r = parseCidr(asCidr);
  if (!r.ok) return r;
  return { ok: true, text: r.pattern.text };
}
