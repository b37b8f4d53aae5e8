// The last check before a socket opens (THREATS 2.2): every resolved address is classified by its bytes and
// refused unless public or exempted exactly. ipaddr.js is used because it is maintained, parses both families
// into bytes, matches CIDRs and understands IPv4-mapped IPv6; string checks are what npm `ip` got wrong.
import ipaddr from 'ipaddr.js';
import { classifyAddress, embeddedIpv4 } from './address-class.ts';
import type { AddressClass, IpAddress } from './address-class.ts';

export type { AddressClass } from './address-class.ts';
export { describeClass } from './address-class.ts';

export interface AddressVerdict {
  /** Canonical text of the address: dotted-decimal IPv4 (IPv4-mapped IPv6 included) or RFC 5952 IPv6. */
  readonly address: string;
  readonly allowed: boolean;
  readonly class: AddressClass;
  readonly reason: string;
}

export interface SelfAddress {
  readonly address: string;
  readonly port?: number;
}

export interface AddressGuardOptions {
  /**
   * Sluice's own listening sockets, asked on every check (ports resolved from 0 appear after listen). Return a
   * new array when the set changes: verdicts are memoised per array (and per length, for a list grown in place).
   */
  readonly selfAddresses: () => readonly SelfAddress[];
}

export interface AddressGuard {
  /**
   * `allowPrivate` holds CIDRs (validated with parseCidrList at load). `port` is the port about to be dialled;
   * without it, any of Sluice's listening addresses counts as self whatever its port.
   */
  check(address: string, allowPrivate: readonly string[], port?: number): AddressVerdict;
}

export interface Cidr {
  readonly text: string;
  readonly network: IpAddress;
  readonly prefix: number;
}

/** A bad entry in a CIDR list, with its index so that config loading can point at the YAML node. */
export class CidrListError extends Error {
  readonly entry: string;
  readonly index: number;
  constructor(entry: string, index: number, why: string) {
    super(`${JSON.stringify(entry)} is not a valid CIDR or IP address: ${why}`);
    this.entry = entry;
    this.index = index;
  }
}

/**
 * Strict parse of an address: dotted-decimal IPv4 or IPv6 without a zone id. ipaddr.parse alone would accept
 * "0x7f.1" and "127.1"; those spellings are canonicalised earlier (net/host.ts) and never reach here.
 */
export function parseStrictIp(text: string): IpAddress | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

function canonicalText(address: IpAddress): string {
  return address.kind() === 'ipv4' ? address.toString() : (address as ipaddr.IPv6).toRFC5952String();
}

function parseCidr(entry: string, index: number): Cidr {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const address = parseStrictIp(addressText);
  if (address === null) throw new CidrListError(entry, index, 'use dotted-decimal IPv4 or IPv6 without a zone');
  // An IPv4-mapped network ("::ffff:10.0.0.0/104") is rewritten as the IPv4 network it means.
  const mappedShift = address.kind() === 'ipv4' && addressText.includes(':') ? 96 : 0;
  const max = address.kind() === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(max + mappedShift) : entry.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) throw new CidrListError(entry, index, 'the prefix length is not a decimal number');
  const prefix = Number(prefixText) - mappedShift;
  if (prefix < 0 || prefix > max) throw new CidrListError(entry, index, `the prefix length must be ${mappedShift}..${max + mappedShift}`);
  const network = ipaddr.parse(canonicalText(address));
  const expected = address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${canonicalText(address)}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${canonicalText(address)}/${prefix}`);
  if (canonicalText(expected) !== canonicalText(network)) {
    throw new CidrListError(entry, index, `host bits are set; did you mean ${canonicalText(expected)}/${prefix + mappedShift}?`);
  }
  return Object.freeze({ text: entry, network, prefix });
}

/** Parse CIDRs (or single addresses) at config or policy load; throws CidrListError naming the bad entry. */
export function parseCidrList(list: readonly string[]): readonly Cidr[] {
  return Object.freeze(list.map((entry, index) => parseCidr(entry, index)));
}

function contains(cidr: Cidr, address: IpAddress): boolean {
  return cidr.network.kind() === address.kind() && address.match(cidr.network, cidr.prefix);
}

// Never dialled, whatever the policy says: they are not one host (multicast, broadcast), or they reach
// the local machine in surprising ways (0.0.0.0), or they are Sluice itself.
const NEVER_EXEMPT: ReadonlySet<AddressClass> = new Set(['self', 'invalid', 'unspecified', 'multicast', 'broadcast']);

/**
 * The exemption that covers `address`, if any. Metadata endpoints hand out cloud credentials, so only an
 * entry naming exactly that address (a /32 or /128) releases one; "169.254.0.0/16" or "0.0.0.0/0" do not.
 */
function findExemption(address: IpAddress, cls: AddressClass, cidrs: readonly Cidr[]): Cidr | undefined {
  if (NEVER_EXEMPT.has(cls)) return undefined;
  const candidates = [address];
  const embedded = address.kind() === 'ipv6' ? embeddedIpv4(address as ipaddr.IPv6) : null;
  // Mapped, compatible and NAT64 addresses reach their IPv4 host, so IPv4 CIDRs apply to them.
  if (embedded?.direct === true) candidates.push(embedded.v4);
  return cidrs.find((cidr) => {
    if (cls === 'metadata' && cidr.prefix !== (cidr.network.kind() === 'ipv4' ? 32 : 128)) return false;
    return candidates.some((candidate) => contains(cidr, candidate));
  });
}

function isSelf(address: IpAddress, port: number | undefined, self: readonly SelfAddress[]): boolean {
  return self.some((entry) => {
    const listening = parseStrictIp(entry.address);
    if (listening === null) return false;
    if (port !== undefined && entry.port !== undefined && entry.port !== port) return false;
    // A wildcard listener (0.0.0.0, ::) answers on every local address.
    const wildcard = listening.toByteArray().every((b) => b === 0);
    return wildcard || (listening.kind() === address.kind() && canonicalText(listening) === canonicalText(address));
  });
}

function verdict(address: string, allowed: boolean, cls: AddressClass, reason: string): AddressVerdict {
  return Object.freeze({ address, allowed, class: cls, reason });
}

/** Entries that do not parse exempt nothing (fail closed); lists are validated at load with parseCidrList. */
function lenientCidrs(list: readonly string[]): readonly Cidr[] {
  const out: Cidr[] = [];
  list.forEach((entry, index) => {
    try {
      out.push(parseCidr(entry, index));
    } catch {
      // Skipped: an unparsable exemption must not widen access, and must not fail every request either.
    }
  });
  return Object.freeze(out);
}

export function createAddressGuard(options: AddressGuardOptions): AddressGuard {
  // Policy entries hand over the same frozen array on every request; parse each list once per guard. Only
  // frozen lists are cached: a mutable one could lose an entry and keep exempting from a stale parse.
  const parsed = new WeakMap<readonly string[], readonly Cidr[]>();
  const cidrsOf = (list: readonly string[]): readonly Cidr[] => {
    if (!Object.isFrozen(list)) return lenientCidrs(list);
    let cidrs = parsed.get(list);
    if (cidrs === undefined) {
      cidrs = lenientCidrs(list);
      parsed.set(list, cidrs);
    }
    return cidrs;
  };
  const checkUncached = (rawAddress: string, allowPrivate: readonly string[], port: number | undefined, self: readonly SelfAddress[]): AddressVerdict => {
    const address = parseStrictIp(rawAddress);
    if (address === null) return verdict(rawAddress, false, 'invalid', `${JSON.stringify(rawAddress)} is not an IP address`);
    const text = canonicalText(address);
    if (isSelf(address, port, self)) {
      const where = port === undefined ? text : `${text} port ${port}`;
      return verdict(text, false, 'self', `${where} is one of Sluice's own listening addresses`);
    }
    const classified = classifyAddress(address);
    if (classified.class === 'public') return verdict(text, true, 'public', classified.reason);
    const exemption = findExemption(address, classified.class, cidrsOf(allowPrivate));
    if (exemption !== undefined) {
      return verdict(text, true, classified.class, `${classified.reason}, exempted by allowPrivate ${exemption.text}`);
    }
    return verdict(text, false, classified.class, `${classified.reason}; no allowPrivate entry exempts it`);
  };
  // Every request inside a tunnel dials the same address again, and a verdict depends only on (address, port,
  // exemption list, listening addresses): keep the last verdicts per frozen list, dropped whenever the listening
  // set changes. Bounded, because the addresses come from DNS answers.
  let memoSelf: readonly SelfAddress[] | null = null;
  let memoSelfLength = 0;
  let memo = new WeakMap<readonly string[], Map<string, AddressVerdict>>();
  const decide = (rawAddress: string, allowPrivate: readonly string[], port: number | undefined): AddressVerdict => {
    const self = options.selfAddresses();
    if (!Object.isFrozen(allowPrivate)) return checkUncached(rawAddress, allowPrivate, port, self);
    if (self !== memoSelf || self.length !== memoSelfLength) {
      memoSelf = self;
      memoSelfLength = self.length;
      memo = new WeakMap();
    }
    let verdicts = memo.get(allowPrivate);
    if (verdicts === undefined) memo.set(allowPrivate, (verdicts = new Map()));
    const key = port === undefined ? rawAddress : `${rawAddress} ${port}`;
    let v = verdicts.get(key);
    if (v === undefined) {
      if (verdicts.size >= MEMO_LIMIT) verdicts.clear();
      v = checkUncached(rawAddress, allowPrivate, port, self);
      verdicts.set(key, v);
    }
    return v;
  };
  return { check: decide };
}

const MEMO_LIMIT = 256;
