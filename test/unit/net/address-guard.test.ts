// THREATS 2.2: each refused class beside the nearest address that must be allowed.
import { describe, expect, it } from 'vitest';
import { CidrListError, createAddressGuard, parseCidrList } from '../../../src/net/address-guard.ts';
import type { SelfAddress } from '../../../src/net/address-guard.ts';

function guardWith(self: readonly SelfAddress[] = []) {
  return createAddressGuard({ selfAddresses: () => self });
}

// Teredo: 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC with the client IPv4 bit-inverted.
function teredo(server: string, client: string): string {
  const hex = (ip: string, xor: number) => ip.split('.').map((o) => (Number(o) ^ xor).toString(16).padStart(2, '0'));
  const [s1, s2, s3, s4] = hex(server, 0);
  const [c1, c2, c3, c4] = hex(client, 0xff);
  return `2001:0:${s1}${s2}:${s3}${s4}:0:0:${c1}${c2}:${c3}${c4}`;
}

describe('address guard: refused classes and near misses', () => {
  const guard = guardWith();
  it.each([
    ['127.0.0.1', 'loopback', '126.255.255.255'],
    ['127.255.255.254', 'loopback', '128.0.0.1'],
    ['10.0.0.1', 'private', '11.0.0.1'],
    ['172.16.0.1', 'private', '172.32.0.1'],
    ['172.31.255.255', 'private', '172.15.255.255'],
    ['192.168.1.1', 'private', '192.169.1.1'],
    ['169.254.169.254', 'metadata', '169.255.169.254'],
    ['100.100.100.200', 'metadata', '100.128.0.1'],
    ['169.254.1.1', 'linkLocal', '169.253.255.255'],
    ['168.63.129.16', 'metadata', '168.63.129.17'],
    ['100.64.0.1', 'cgnat', '100.63.255.254'],
    ['100.127.255.254', 'cgnat', '100.128.0.1'],
    ['0.0.0.0', 'unspecified', '1.0.0.0'],
    ['0.1.2.3', 'unspecified', '1.1.1.1'],
    ['224.0.0.1', 'multicast', '223.255.255.254'],
    ['239.255.255.250', 'multicast', '223.1.1.1'],
    ['255.255.255.255', 'broadcast', '223.255.255.255'],
    ['240.0.0.1', 'reserved', '223.0.0.1'],
    ['198.18.0.1', 'benchmarking', '198.20.0.1'],
    ['198.19.255.255', 'benchmarking', '198.17.255.255'],
    ['192.0.2.1', 'documentation', '192.0.3.1'],
    ['198.51.100.7', 'documentation', '198.51.101.7'],
    ['203.0.113.9', 'documentation', '203.0.114.9'],
    ['192.0.0.192', 'reserved', '192.0.1.192'],
    ['::1', 'loopback', '2606:4700::1'],
    ['::', 'unspecified', '2606:4700::1111'],
    ['fe80::1', 'linkLocal', '2001:4860::1'],
    ['febf:ffff::1', 'linkLocal', '2a00:1450::1'],
    ['fec0::1', 'siteLocal', '2a00:1450::2'],
    ['fd00::1', 'uniqueLocal', '2a03:2880::1'],
    ['fc00::1', 'uniqueLocal', '2a03:2880::2'],
    ['fd00:ec2::254', 'metadata', '2a05:d000::254'],
    ['ff02::1', 'multicast', '2a05:d000::1'],
    ['2001:db8::1', 'documentation', '2001:db9::1'],
    ['2001:2::1', 'benchmarking', '2001:4860:4860::8888'],
    ['100::1', 'reserved', '2001:4860:4860::8844'],
    ['5f00::1', 'reserved', '2400:cb00::1'],
    // IPv4-mapped, in every spelling: npm `ip` CVE-2024-29415 (::fFFf:127.0.0.1).
    ['::ffff:7f00:1', 'loopback', '::ffff:808:808'],
    ['::ffff:127.0.0.1', 'loopback', '::ffff:8.8.8.8'],
    ['::fFFf:127.0.0.1', 'loopback', '::FFFF:8.8.4.4'],
    ['::ffff:169.254.169.254', 'metadata', '::ffff:1.1.1.1'],
    // IPv4-compatible and IPv4-translated.
    ['::127.0.0.1', 'loopback', '::8.8.8.8'],
    ['::ffff:0:7f00:1', 'loopback', '::ffff:0:808:808'],
    // NAT64 (smokescreen 8e2eca6).
    ['64:ff9b::7f00:1', 'loopback', '64:ff9b::808:808'],
    ['64:ff9b::a9fe:a9fe', 'metadata', '64:ff9b::101:101'],
    ['64:ff9b:1::a00:1', 'private', '64:ff9b::808:404'],
    // 6to4.
    ['2002:7f00:1::', 'loopback', '2002:808:808::'],
    ['2002:a00:1::1', 'private', '2002:808:404::1'],
    // Teredo: the client address is bit-inverted; the server is checked too.
    [teredo('8.8.8.8', '127.0.0.1'), 'loopback', teredo('8.8.8.8', '1.1.1.1')],
    [teredo('10.0.0.1', '1.1.1.1'), 'private', teredo('8.8.4.4', '1.0.0.1')],
  ])('%s is refused as %s; %s is allowed', (refused, cls, allowed) => {
    const bad = guard.check(refused, []);
    expect(bad).toMatchObject({ allowed: false, class: cls });
    const good = guard.check(allowed, []);
    expect(good).toMatchObject({ allowed: true, class: 'public' });
  });

  it('refuses local-use NAT64 even to a public address (RFC 8215: not globally reachable)', () => {
    expect(guard.check('64:ff9b:1::808:808', [])).toMatchObject({ allowed: false, class: 'reserved' });
  });

  it('refuses what is not a strict IP address instead of guessing', () => {
    for (const bad of ['0x7f.1', '127.1', '2130706433', '017700000001', '127.0.0.01', 'fe80::1%eth0', 'localhost', '', ' 1.1.1.1']) {
      expect(guard.check(bad, ['0.0.0.0/0', '::/0'])).toMatchObject({ allowed: false, class: 'invalid' });
    }
  });

  it('returns canonical addresses and a reason naming the embedding', () => {
    const v = guard.check('::FFFF:127.0.0.1', []);
    expect(v.address).toBe('127.0.0.1');
    expect(guard.check('2001:DB8:0:0:0:0:0:1', []).address).toBe('2001:db8::1');
    expect(guard.check('64:ff9b::7f00:1', []).reason).toMatch(/NAT64/);
    expect(guard.check(teredo('8.8.8.8', '127.0.0.1'), []).reason).toMatch(/Teredo/);
  });
});

describe('address guard: allowPrivate exemptions are exact', () => {
  const guard = guardWith();
  it.each([
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['11.0.0.1', ['10.0.0.0/8'], true], // public anyway
    ['172.16.0.1', ['10.0.0.0/8'], false],
    ['10.1.2.3', ['10.1.2.4/32'], false],
    ['10.1.2.3', ['10.1.2.3'], true],
    ['127.0.0.1', ['127.0.0.0/8'], true],
    ['127.0.0.1', ['::1/128'], false],
    ['::1', ['127.0.0.0/8'], false],
    ['::1', ['::1'], true],
    ['::ffff:10.1.2.3', ['10.0.0.0/8'], true],
    ['::ffff:10.1.2.3', ['::ffff:10.0.0.0/104'], true],
    ['10.1.2.3', ['::ffff:10.0.0.0/104'], true],
    ['64:ff9b::a01:203', ['10.0.0.0/8'], true],
    ['fd00::1', ['fd00::/8'], true],
    ['fd00::1', ['fe80::/10'], false],
    // Metadata needs an entry naming exactly that address.
    ['169.254.169.254', ['169.254.0.0/16'], false],
    ['169.254.169.254', ['0.0.0.0/0'], false],
    ['169.254.169.254', ['169.254.169.254/32'], true],
    ['169.254.1.1', ['169.254.0.0/16'], true],
    // Never exempt.
    ['0.0.0.0', ['0.0.0.0/0'], false],
    ['::', ['::/0'], false],
    ['224.0.0.1', ['224.0.0.0/4'], false],
    ['255.255.255.255', ['0.0.0.0/0'], false],
  ])('%s with %j → allowed=%s', (address, allowPrivate, allowed) => {
    expect(guard.check(address, allowPrivate).allowed).toBe(allowed);
  });

  it('ignores an invalid entry instead of exempting more (fail closed)', () => {
    expect(guard.check('10.1.2.3', ['10.0.0.1/8', 'nonsense', '10/8'])).toMatchObject({ allowed: false, class: 'private' });
    expect(guard.check('10.1.2.3', ['nonsense', '10.0.0.0/8']).allowed).toBe(true);
  });

  it('does not reuse a parse of a list that changed', () => {
    const list = ['10.0.0.0/8'];
    expect(guard.check('10.1.2.3', list).allowed).toBe(true);
    list.pop();
    expect(guard.check('10.1.2.3', list).allowed).toBe(false);
    const frozen = Object.freeze(['10.0.0.0/8']);
    expect(guard.check('10.1.2.3', frozen).allowed).toBe(true);
    expect(guard.check('10.1.2.3', frozen).allowed).toBe(true);
  });

  it('says which entry exempted the address', () => {
    expect(guard.check('10.1.2.3', ['192.168.0.0/16', '10.0.0.0/8']).reason).toMatch(/exempted by allowPrivate 10\.0\.0\.0\/8/);
  });
});

describe('address guard: Sluice itself', () => {
  const guard = guardWith([{ address: '127.0.0.1', port: 3128 }, { address: '::1', port: 9090 }]);
  it('refuses its own listener even when allowPrivate covers loopback', () => {
    expect(guard.check('127.0.0.1', ['127.0.0.0/8'], 3128)).toMatchObject({ allowed: false, class: 'self' });
    expect(guard.check('::ffff:127.0.0.1', ['127.0.0.0/8'], 3128)).toMatchObject({ allowed: false, class: 'self' });
    expect(guard.check('::1', ['::1/128'], 9090)).toMatchObject({ allowed: false, class: 'self' });
  });
  it('allows an upstream on the same address but another port', () => {
    expect(guard.check('127.0.0.1', ['127.0.0.0/8'], 3129)).toMatchObject({ allowed: true, class: 'loopback' });
    expect(guard.check('127.0.0.2', ['127.0.0.0/8'], 3128)).toMatchObject({ allowed: true, class: 'loopback' });
  });
  it('fails closed without a port', () => {
    expect(guard.check('127.0.0.1', ['127.0.0.0/8'])).toMatchObject({ allowed: false, class: 'self' });
  });
  it('treats a wildcard listener as every address on its port, and asks for the list on every check', () => {
    const listeners: SelfAddress[] = [];
    const live = createAddressGuard({ selfAddresses: () => listeners });
    expect(live.check('8.8.8.8', [], 8080).allowed).toBe(true);
    listeners.push({ address: '0.0.0.0', port: 8080 });
    expect(live.check('8.8.8.8', [], 8080)).toMatchObject({ allowed: false, class: 'self' });
    expect(live.check('8.8.8.8', [], 443).allowed).toBe(true);
  });
  it('remembers verdicts per exemption list but forgets them when the listeners change', () => {
    const exempt = Object.freeze(['127.0.0.0/8']);
    let listeners: readonly SelfAddress[] = Object.freeze([{ address: '127.0.0.1', port: 3128 }]);
    const live = createAddressGuard({ selfAddresses: () => listeners });
    expect(live.check('127.0.0.5', exempt, 9000)).toMatchObject({ allowed: true, class: 'loopback' });
    expect(live.check('127.0.0.5', exempt, 9000)).toMatchObject({ allowed: true, class: 'loopback' });
    // Sluice starts listening on the upstream's address (the admin server bound after the proxy listeners).
    listeners = Object.freeze([...listeners, { address: '127.0.0.5', port: 9000 }]);
    expect(live.check('127.0.0.5', exempt, 9000)).toMatchObject({ allowed: false, class: 'self' });
    expect(live.check('127.0.0.5', exempt, 9001)).toMatchObject({ allowed: true });
    // Another policy entry's list (another array) is judged on its own: no exemption, no access.
    expect(live.check('127.0.0.6', Object.freeze([]), 9000)).toMatchObject({ allowed: false, class: 'loopback' });
    expect(live.check('127.0.0.6', exempt, 9000)).toMatchObject({ allowed: true });
  });
  it('never remembers a verdict for an exemption list that can still change', () => {
    const exempt = ['10.0.0.0/8'];
    expect(guard.check('10.1.2.3', exempt, 443).allowed).toBe(true);
    exempt.pop();
    expect(guard.check('10.1.2.3', exempt, 443)).toMatchObject({ allowed: false, class: 'private' });
  });
  it('keeps its memory bounded and still right after many distinct addresses', () => {
    const exempt = Object.freeze(['10.0.0.0/8']);
    for (let i = 0; i < 2000; i++) expect(guard.check(`10.0.${i >> 8}.${i & 255}`, exempt, 443).allowed).toBe(true);
    expect(guard.check('11.0.0.1', exempt, 443)).toMatchObject({ allowed: true, class: 'public' });
    expect(guard.check('192.168.0.1', exempt, 443).allowed).toBe(false);
  });
  it('treats a listener without a port as every port on that address', () => {
    const g = guardWith([{ address: '192.0.2.10' }]);
    expect(g.check('192.0.2.10', ['192.0.2.0/24'], 1)).toMatchObject({ class: 'self', allowed: false });
    expect(g.check('192.0.2.11', ['192.0.2.0/24'], 1)).toMatchObject({ allowed: true });
  });
});

describe('parseCidrList', () => {
  it('parses CIDRs and single addresses', () => {
    const list = parseCidrList(['10.0.0.0/8', 'fd00::/8', '192.168.1.1', '::1', '::ffff:10.0.0.0/104']);
    expect(list.map((c) => c.prefix)).toEqual([8, 8, 32, 128, 8]);
  });
  it.each([
    ['10.0.0.1/8', /host bits.*10\.0\.0\.0\/8/],
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10/8', /dotted-decimal/],
    ['0x0a.0.0.0/8', /dotted-decimal/],
    ['010.0.0.0/8', /dotted-decimal/],
    ['fe80::%eth0/10', /dotted-decimal|zone/],
    ['example.test', /dotted-decimal/],
    [' 10.0.0.0/8', /dotted-decimal/],
    ['::ffff:10.0.0.0/8', /prefix length must be 96\.\.128/],
  ])('refuses %j naming the entry', (entry, message) => {
    let thrown: unknown;
    try {
      parseCidrList(['127.0.0.0/8', entry]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CidrListError);
    expect((thrown as CidrListError).index).toBe(1);
    expect((thrown as CidrListError).message).toContain(JSON.stringify(entry));
    expect((thrown as CidrListError).message).toMatch(message);
  });
});
