// Classification of one address by its bytes (THREATS 2.2). ipaddr.js does the parsing and CIDR matching: it
// is maintained, works on bytes rather than strings, matches CIDRs for both families and knows IPv4-mapped
// addresses, which is where hand-written checks failed (npm `ip` CVE-2023-42282 and CVE-2024-29415,
// netmask CVE-2021-28918). The tables below are Sluice's own, so a library update cannot widen what is allowed.
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'metadata'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'benchmarking'
  | 'documentation'
  | 'self'
  | 'invalid';

export interface Classification {
  readonly class: AddressClass;
  /** Why, in words an operator and an agent understand, naming the embedding when there was one. */
  readonly reason: string;
  /** The IPv4 address an IPv6 address designates (mapped, compatible, NAT64, 6to4, Teredo), if any. */
  readonly embedded?: ipaddr.IPv4;
}

type Range = readonly [AddressClass, string];

// Most specific first: the first containing range wins.
const IPV4_RANGES: readonly Range[] = [
  ['metadata', '169.254.169.254/32'], // AWS, GCP, Azure IMDS; also OpenStack
  ['metadata', '100.100.100.200/32'], // Alibaba Cloud
  ['metadata', '168.63.129.16/32'], // Azure WireServer: a public address only reachable inside Azure
  ['unspecified', '0.0.0.0/8'], // "this network"; 0.0.0.0 reaches localhost on Linux ("0.0.0.0 day")
  ['loopback', '127.0.0.0/8'],
  ['private', '10.0.0.0/8'],
  ['private', '172.16.0.0/12'],
  ['private', '192.168.0.0/16'],
  ['linkLocal', '169.254.0.0/16'],
  ['cgnat', '100.64.0.0/10'], // RFC 6598; cloud VPCs route it internally (smokescreen ba3c79c)
  ['reserved', '192.0.0.0/24'], // IETF protocol assignments, Oracle metadata 192.0.0.192
  ['documentation', '192.0.2.0/24'],
  ['reserved', '192.88.99.0/24'], // deprecated 6to4 relay anycast
  ['benchmarking', '198.18.0.0/15'],
  ['documentation', '198.51.100.0/24'],
  ['documentation', '203.0.113.0/24'],
  ['multicast', '224.0.0.0/4'],
  ['broadcast', '255.255.255.255/32'],
  ['reserved', '240.0.0.0/4'],
];

const IPV6_RANGES: readonly Range[] = [
  ['metadata', 'fd00:ec2::254/128'], // AWS IMDS over IPv6
  ['linkLocal', 'fe80::/10'],
  ['siteLocal', 'fec0::/10'],
  ['uniqueLocal', 'fc00::/7'],
  ['multicast', 'ff00::/8'],
  ['benchmarking', '2001:2::/48'],
  ['documentation', '2001:db8::/32'],
  ['documentation', '3fff::/20'], // RFC 9637
  ['reserved', '2001:10::/28'], // ORCHID (deprecated)
];

/** Global unicast is 2000::/3; everything else in IPv6 (100::/64 discard, 5f00::/16 SRv6, ...) is refused. */
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

interface CompiledRange {
  readonly class: AddressClass;
  readonly cidr: [IpAddress, number];
  readonly text: string;
}

function compile(ranges: readonly Range[]): readonly CompiledRange[] {
  return ranges.map(([cls, text]) => ({ class: cls, cidr: ipaddr.parseCIDR(text), text }));
}

// Immutable lookup tables, built once: not mutable state.
const V4 = compile(IPV4_RANGES);
const V6 = compile(IPV6_RANGES);

function prefix(bytes: readonly number[], ...head: number[]): boolean {
  return head.every((b, i) => bytes[i] === b);
}

function v4At(bytes: readonly number[], offset: number, xor = 0): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.slice(offset, offset + 4).map((b) => b ^ xor));
}

/** The embedded IPv4 and the name of the mechanism, for the IPv6 forms that carry one. */
export function embeddedIpv4(address: ipaddr.IPv6): { v4: ipaddr.IPv4; via: string; direct: boolean } | null {
  const b = address.toByteArray();
  const zeros = (n: number): boolean => b.slice(0, n).every((x) => x === 0);
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) return { v4: v4At(b, 12), via: 'IPv4-mapped', direct: true };
  // ::/96 minus :: and ::1 (classified as such first): deprecated IPv4-compatible addresses.
  if (zeros(12)) return { v4: v4At(b, 12), via: 'IPv4-compatible', direct: true };
  if (zeros(8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return { v4: v4At(b, 12), via: 'IPv4-translated (RFC 6145)', direct: true };
  if (prefix(b, 0x00, 0x64, 0xff, 0x9b) && b.slice(4, 12).every((x) => x === 0)) return { v4: v4At(b, 12), via: 'NAT64 (64:ff9b::/96)', direct: true };
  if (prefix(b, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01)) return { v4: v4At(b, 12), via: 'local-use NAT64 (64:ff9b:1::/48)', direct: true };
  if (prefix(b, 0x20, 0x02)) return { v4: v4At(b, 2), via: '6to4 (2002::/16)', direct: false };
  // Teredo (RFC 4380): 2001:0::/32, server IPv4 in bytes 4..7, client IPv4 bit-inverted in bytes 12..15.
  if (prefix(b, 0x20, 0x01, 0x00, 0x00)) return { v4: v4At(b, 12, 0xff), via: 'Teredo (2001::/32)', direct: false };
  return null;
}

function classifyIpv4(address: ipaddr.IPv4): Classification {
  const hit = V4.find((r) => address.match(r.cidr));
  if (hit === undefined) return { class: 'public', reason: `${address.toString()} is a public address` };
  return { class: hit.class, reason: `${address.toString()} is in ${hit.text} (${describeClass(hit.class)})` };
}

function classifyIpv6(address: ipaddr.IPv6): Classification {
  const text = address.toRFC5952String();
  if (address.toByteArray().every((x) => x === 0)) return { class: 'unspecified', reason: `${text} is the unspecified address` };
  if (text === '::1') return { class: 'loopback', reason: '::1 is the IPv6 loopback address' };
  const embedded = embeddedIpv4(address);
  if (embedded !== null) {
    const inner = classifyIpv4(embedded.v4);
    if (inner.class !== 'public') return { ...inner, reason: `${text} is ${embedded.via} for ${inner.reason}`, embedded: embedded.v4 };
    if (embedded.via.startsWith('Teredo')) return classifyTeredoServer(address, text);
    if (embedded.via.startsWith('local-use NAT64')) {
      return { class: 'reserved', reason: `${text} is in 64:ff9b:1::/48, local-use NAT64 that is not globally reachable (RFC 8215)`, embedded: embedded.v4 };
    }
    return { class: 'public', reason: `${text} is ${embedded.via} for the public address ${embedded.v4.toString()}`, embedded: embedded.v4 };
  }
  const hit = V6.find((r) => address.match(r.cidr));
  if (hit !== undefined) return { class: hit.class, reason: `${text} is in ${hit.text} (${describeClass(hit.class)})` };
  if (!address.match(GLOBAL_UNICAST)) return { class: 'reserved', reason: `${text} is outside global unicast 2000::/3` };
  return { class: 'public', reason: `${text} is a public address` };
}

/** The Teredo server is dialled through too; a private one is refused like a private client. */
function classifyTeredoServer(address: ipaddr.IPv6, text: string): Classification {
  const server = classifyIpv4(v4At(address.toByteArray(), 4));
  if (server.class !== 'public') return { ...server, reason: `${text} is Teredo with server ${server.reason}` };
  return { class: 'public', reason: `${text} is Teredo between public addresses` };
}

export function classifyAddress(address: IpAddress): Classification {
  return address.kind() === 'ipv4' ? classifyIpv4(address as ipaddr.IPv4) : classifyIpv6(address as ipaddr.IPv6);
}

const CLASS_WORDS: Record<AddressClass, string> = {
  public: 'public',
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  linkLocal: 'link-local',
  metadata: 'link-local/metadata',
  cgnat: 'carrier-grade NAT (RFC 6598)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
  uniqueLocal: 'unique-local (fc00::/7)',
  siteLocal: 'site-local',
  benchmarking: 'benchmarking (RFC 2544)',
  documentation: 'documentation-only',
  self: "Sluice's own listening",
  invalid: 'invalid',
};

/** "link-local/metadata", "loopback", ...: the words used in messages the agent reads. */
export function describeClass(cls: AddressClass): string {
  return CLASS_WORDS[cls];
}
