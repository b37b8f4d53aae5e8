// Host lookup precompiled for decide(): an exact-name map, a wildcard map keyed by suffix (walked label by label,
// longest suffix first), exact IPs and CIDRs (longest prefix first). The most specific pattern decides alone: an
// exact entry hides the wildcards above it, so ops can narrow one name under a broad wildcard.
import net from 'node:net';
import type { CompiledEntry, CompiledRule } from './compile-entry.ts';
import { canonicalIp, maskedNetwork, parseIp } from './host-pattern.ts';

export interface HostIndex {
  /** Entries of the most specific pattern matching a canonical host, or an empty list. */
  lookup(host: string): readonly CompiledEntry[];
}

/** CIDR entries of one address family and prefix length, keyed by network address. */
interface CidrLevel {
  readonly kind: 'ipv4' | 'ipv6';
  readonly prefix: number;
  readonly networks: Map<string, CompiledEntry[]>;
}

export function buildHostIndex(entries: readonly CompiledEntry[]): HostIndex {
  const exact = new Map<string, CompiledEntry[]>();
  const wildcard = new Map<string, CompiledEntry[]>();
  const ips = new Map<string, CompiledEntry[]>();
  const levels = new Map<string, CidrLevel>();
  const any: CompiledEntry[] = [];
  const push = (m: Map<string, CompiledEntry[]>, k: string, e: CompiledEntry) => {
    const list = m.get(k);
    if (list) list.push(e);
    else m.set(k, [e]);
  };
  for (const e of entries) {
    const p = e.pattern;
    if (p.kind === 'exact') push(exact, p.host, e);
    else if (p.kind === 'wildcard') push(wildcard, p.suffix, e);
    else if (p.kind === 'ip') push(ips, p.ip, e);
    else if (p.kind === 'any') any.push(e);
    else {
      const kind = p.network.kind();
      const key = `${kind}/${p.prefix}`;
      const level = levels.get(key) ?? { kind, prefix: p.prefix, networks: new Map<string, CompiledEntry[]>() };
      levels.set(key, level);
      push(level.networks, canonicalIp(p.network), e);
    }
  }
  // Longest prefix first; one map lookup per distinct prefix length instead of one comparison per CIDR.
  const cidrLevels = [...levels.values()].sort((a, b) => b.prefix - a.prefix);
  const none: readonly CompiledEntry[] = Object.freeze([]);

  function lookupIp(host: string): readonly CompiledEntry[] {
    const ip = parseIp(host);
    if (!ip) return none;
    const found = ips.get(canonicalIp(ip));
    if (found) return found;
    const kind = ip.kind();
    for (const level of cidrLevels) {
      if (level.kind !== kind) continue;
      const found = level.networks.get(maskedNetwork(ip, level.prefix));
      if (found) return found;
    }
    return none;
  }

  function lookupName(host: string): readonly CompiledEntry[] {
    const found = exact.get(host);
    if (found) return found;
    // "*.github.com" matches any depth below github.com, never github.com itself: only suffixes that
    // start after a dot are tried, so "xgithub.com" cannot reach the "github.com" bucket.
    for (let i = host.indexOf('.'); i !== -1; i = host.indexOf('.', i + 1)) {
      const w = wildcard.get(host.slice(i + 1));
      if (w) return w;
    }
    return any.length > 0 ? any : none;
  }

  return {
    lookup: (host) => (isIpLiteral(host) ? lookupIp(host) : lookupName(host)),
  };
}

export function isIpLiteral(host: string): boolean {
  return net.isIP(host) !== 0 || (host.startsWith('[') && host.endsWith(']'));
}

// A canonical name: what authority.ts hands over. Anything else (NUL, "%", upper case, a trailing dot) means
// the caller skipped canonicalisation; deny rather than guess (THREATS 2.1, the NUL-byte suffix bypass).
const CANONICAL_NAME = /^(?=.{1,253}$)[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
export function isCanonicalName(host: string): boolean {
  return CANONICAL_NAME.test(host);
}

export function ruleMatches(rule: CompiledRule, method: string, path: string): boolean {
  if (rule.methods !== null && !rule.methods.has(method)) return false;
  return rule.paths === null || rule.paths.test(path);
}

/** A deny rule with neither methods nor paths closes the whole host (used to carve a name out of a wildcard). */
export function deniesEverything(rule: CompiledRule): boolean {
  return rule.methods === null && rule.paths === null;
}

export function portAllowed(e: CompiledEntry, port: number, scheme: 'http' | 'https'): boolean {
  if (e.ports !== null) return e.ports.has(port);
  return port === (scheme === 'https' ? 443 : 80);
}

// Request paths reach decide() already normalised (authority.ts normalisePath). A dot segment, a backslash, an
// encoded "/" "\" or "." or a missing leading "/" means they were not; such a path is denied, never matched.
const UNNORMALISED = /(^|\/)\.{1,2}(\/|$)|\\|%2[eEfF]|%5[cC]|[\0\r\n#?]/;
export function looksNormalised(path: string): boolean {
  return path.startsWith('/') && !UNNORMALISED.test(path);
}
