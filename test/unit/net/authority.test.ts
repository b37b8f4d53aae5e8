// THREATS 2.1 and 2.3: every attack on authority parsing beside the near miss that must still parse.
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors.ts';
import {
  canonicalHost,
  formatAuthority,
  parseAbsoluteTarget,
  parseConnectAuthority,
  parseHostHeader,
  sameAuthority,
} from '../../../src/net/authority.ts';

function rejects(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(BadRequestError);
  if (message) expect((thrown as Error).message).toMatch(message);
}

describe('parseConnectAuthority: accepted and canonicalised', () => {
  it.each([
    ['allowed.test:443', 'allowed.test', 443, 'name'],
    ['ALLOWED.Test.:443', 'allowed.test', 443, 'name'],
    ['bücher.example:443', 'xn--bcher-kva.example', 443, 'name'],
    ['BÜCHER.example:443', 'xn--bcher-kva.example', 443, 'name'],
    ['xn--bcher-kva.example:443', 'xn--bcher-kva.example', 443, 'name'],
    ['ｅｘａｍｐｌｅ.test:443', 'example.test', 443, 'name'],
    ['a-b.c--d.test:1', 'a-b.c--d.test', 1, 'name'],
    ['allowed.test:65535', 'allowed.test', 65535, 'name'],
    ['①②⑦.⓪.⓪.①:443', '127.0.0.1', 443, 'ipv4'],
    ['2130706433:443', '127.0.0.1', 443, 'ipv4'],
    ['0x7f.1:443', '127.0.0.1', 443, 'ipv4'],
    ['017700000001:443', '127.0.0.1', 443, 'ipv4'],
    ['0177.0.0.1:443', '127.0.0.1', 443, 'ipv4'],
    ['127.1:443', '127.0.0.1', 443, 'ipv4'],
    ['127.0.0.1.:443', '127.0.0.1', 443, 'ipv4'],
    ['8.8.8.8:53', '8.8.8.8', 53, 'ipv4'],
    ['[::1]:443', '::1', 443, 'ipv6'],
    ['[0:0:0:0:0:0:0:1]:443', '::1', 443, 'ipv6'],
    ['[FE80::A]:443', 'fe80::a', 443, 'ipv6'],
    ['[2001:DB8:0:0:1:0:0:1]:8443', '2001:db8::1:0:0:1', 8443, 'ipv6'],
    // IPv4-mapped IPv6 reaches the IPv4 host, so that is its one canonical spelling.
    ['[::ffff:127.0.0.1]:443', '127.0.0.1', 443, 'ipv4'],
    ['[::ffff:7f00:1]:443', '127.0.0.1', 443, 'ipv4'],
  ])('%s → %s port %d (%s)', (raw, host, port, kind) => {
    expect(parseConnectAuthority(raw)).toEqual({ host, port, kind });
  });
});

describe('parseConnectAuthority: attacks refused with a 400, each beside its near miss', () => {
  it.each([
    // NUL truncation (SOCKS5 bypass, getaddrinfo stops at NUL) vs the same name without it.
    ['evil.test%00.allowed.test:443', 'allowed.test:443', /percent/],
    ['evil.test\u0000.allowed.test:443', 'evil.test.allowed.test:443', /control/],
    ['allowed .test:443', 'allowed.test:443', /control character or whitespace/],
    ['allowed.test:443 ', 'allowed.test:443', /control character or whitespace/],
    ['allowed.test\t:443', 'allowed.test:443', /control/],
    ['allowed.test\u0085:443', 'allowed.test:443', /control/],
    // Userinfo: the string check sees allowed.test, a URL parser dials evil.
    ['user@allowed.test:443', 'allowed.test:443', /userinfo/],
    ['allowed.test:443@evil.test:443', 'allowed.test:443', /userinfo/],
    ['allowed.test:443@evil', 'allowed.test:443', /userinfo/],
    // Brackets only around IPv6 (agent-sandbox.nix#105 stripped them unchecked).
    ['[allowed.test]:443', 'allowed.test:443', /brackets/],
    ['[127.0.0.1]:443', '127.0.0.1:443', /brackets/],
    ['[::1:443', '[::1]:443', /closing/],
    ['::1]:443', '[::1]:443', /bracket/],
    ['[::1]443', '[::1]:443', /only ":port"/],
    ['::1:443', '[::1]:443', /brackets/],
    ['[fe80::1%25eth0]:443', '[fe80::1]:443', /zone/],
    ['[fe80::1%eth0]:443', '[fe80::1]:443', /zone/],
    ['[::1 ]:443', '[::1]:443', /whitespace/],
    ['[1:2:3:4:5:6:7:8:9]:443', '[1:2:3:4:5:6:7:8]:443', /IPv6/],
    // Port: required, decimal 1..65535, no signs, no leading zeros, no 16-bit wrap.
    ['allowed.test', 'allowed.test:443', /explicit port/],
    ['[::1]', '[::1]:443', /explicit port/],
    ['allowed.test:', 'allowed.test:443', /port ""/],
    ['allowed.test:0', 'allowed.test:1', /port "0"/],
    ['allowed.test:65536', 'allowed.test:65535', /above 65535/],
    ['allowed.test:65979', 'allowed.test:443', /above 65535/],
    ['allowed.test:+443', 'allowed.test:443', /port "\+443"/],
    ['allowed.test:-443', 'allowed.test:443', /port/],
    ['allowed.test:0443', 'allowed.test:443', /port "0443"/],
    ['allowed.test:0x1bb', 'allowed.test:443', /port/],
    ['allowed.test:443:443', 'allowed.test:443', /port|IPv6/],
    ['allowed.test:４４３', 'allowed.test:443', /port/],
    // Dots and labels.
    ['allowed.test..:443', 'allowed.test.:443', /empty label/],
    ['.allowed.test:443', 'allowed.test:443', /empty label/],
    ['allowed..test:443', 'allowed.test:443', /empty label/],
    ['allowed.test。。:443', 'allowed.test。:443', /empty label/],
    [':443', 'a:443', /host is empty/],
    ['-allowed.test:443', 'a-llowed.test:443', /label/],
    ['allowed-.test:443', 'allowed.test:443', /label/],
    ['allowed_x.test:443', 'allowed-x.test:443', /not allowed in a host name/],
    ['allowed*.test:443', 'allowed.test:443', /not allowed/],
    [`${'a'.repeat(64)}.test:443`, `${'a'.repeat(63)}.test:443`, /63/],
    [`${'a.'.repeat(125)}test:443`, `${'a.'.repeat(124)}test:443`, /253/],
    // Punycode that does not decode, and invisible code points that UTS #46 would delete.
    ['xn--abc.test:443', 'xn--bcher-kva.test:443', /punycode/],
    ['exa\u00admple.test:443', 'example.test:443', /invisible/],
    ['exa\u200bmple.test:443', 'example.test:443', /invisible/],
    ['exa\u3000mple.test:443', 'example.test:443', /invisible/],
    // Separators smuggled in the host.
    ['allowed.test/evil:443', 'allowed.test:443', /"\/"/],
    ['allowed.test\\evil:443', 'allowed.test:443', /"\/"/],
    ['allowed.test#x:443', 'allowed.test:443', /"#"/],
    ['allowed.test?x:443', 'allowed.test:443', /"\?"/],
    ['a／b.test:443', 'ab.test:443', /neither/],
    ['allowed.test％00:443', 'allowed.test:443', /neither/],
    // Numbers that are not IPv4 to the WHATWG parser are not names either.
    ['1.2.3.4.5:443', '1.2.3.4:443', /neither/],
    ['1.2.3.256:443', '1.2.3.255:443', /neither/],
    ['foo.09:443', 'foo.o9:443', /neither/],
    ['', 'a:1', /empty/],
  ])('%j refused, %j accepted', (attack, nearMiss, message) => {
    rejects(() => parseConnectAuthority(attack), message);
    expect(() => parseConnectAuthority(nearMiss)).not.toThrow();
  });
});

describe('parseHostHeader', () => {
  it('defaults the port and keeps an explicit one', () => {
    expect(parseHostHeader('Allowed.Test', 80)).toEqual({ host: 'allowed.test', port: 80, kind: 'name' });
    expect(parseHostHeader('allowed.test:8080', 80)).toEqual({ host: 'allowed.test', port: 8080, kind: 'name' });
    expect(parseHostHeader('[::1]', 443)).toEqual({ host: '::1', port: 443, kind: 'ipv6' });
  });
  it.each(['allowed.test:', 'allowed.test:0443', 'a@allowed.test', 'allowed.test%00', 'allowed.test ', ''])('refuses %j', (raw) => {
    rejects(() => parseHostHeader(raw, 80));
  });
});

describe('parseAbsoluteTarget', () => {
  it.each([
    ['http://allowed.test/a?b=c', 'http', 'allowed.test', 80, '/a', 'b=c'],
    ['HTTPS://Allowed.Test:8443/x/../y', 'https', 'allowed.test', 8443, '/y', ''],
    ['http://allowed.test', 'http', 'allowed.test', 80, '/', ''],
    ['http://allowed.test?q', 'http', 'allowed.test', 80, '/', 'q'],
    ['https://[::1]/', 'https', '::1', 443, '/', ''],
    ['http://0x7f.1/', 'http', '127.0.0.1', 80, '/', ''],
  ])('%s', (raw, scheme, host, port, path, query) => {
    const target = parseAbsoluteTarget(raw);
    expect(target).toEqual({ scheme, authority: { host, port, kind: target.authority.kind }, path, query });
  });

  it.each([
    // Orange Tsai differentials: the string check and new URL() see different hosts.
    ['http://a.test%2f@evil.test/', 'http://a.test/'],
    ['http://allowed.test%2f@evil.test/', 'http://allowed.test/'],
    ['http://allowed.test@evil.test/', 'http://allowed.test/'],
    ['http://user:pw@allowed.test/', 'http://allowed.test/'],
    ['http://evil.test\\@allowed.test/', 'http://allowed.test/'],
    ['http://allowed.test\\.evil.test/', 'http://allowed.test/'],
    ['http://evil.test#@allowed.test/', 'http://allowed.test/'],
    ['http://allowed.test/a#frag', 'http://allowed.test/a'],
    ['http://allowed.test/a\\..\\admin', 'http://allowed.test/a/admin'],
    ['http://allowed.test/a/%2e%2e/admin', 'http://allowed.test/a/admin'],
    ['http://allowed.test/a%2fb', 'http://allowed.test/a/b'],
    ['http://allowed.test/a b', 'http://allowed.test/a%20b'],
    ['http://allowed.test/?a=%zz', 'http://allowed.test/?a=%25zz'],
    ['http://allowed.test:0443/', 'http://allowed.test:443/'],
    ['http://allowed.test:/', 'http://allowed.test/'],
    ['ftp://allowed.test/', 'http://allowed.test/'],
    ['http:/allowed.test/', 'http://allowed.test/'],
    ['/relative', 'http://allowed.test/relative'],
    ['http://bücher.example/', 'http://xn--bcher-kva.example/'],
    ['http:///a', 'http://a/'],
  ])('%j refused, %j accepted', (attack, nearMiss) => {
    rejects(() => parseAbsoluteTarget(attack));
    expect(() => parseAbsoluteTarget(nearMiss)).not.toThrow();
  });
});

describe('formatAuthority, sameAuthority, canonicalHost', () => {
  it('formats with brackets only for IPv6', () => {
    expect(formatAuthority(parseConnectAuthority('[::1]:443'))).toBe('[::1]:443');
    expect(formatAuthority(parseConnectAuthority('2130706433:80'))).toBe('127.0.0.1:80');
    expect(formatAuthority(parseConnectAuthority('Bücher.Example.:443'))).toBe('xn--bcher-kva.example:443');
  });
  it('compares canonical values: spellings agree, ports and hosts do not', () => {
    expect(sameAuthority(parseConnectAuthority('ALLOWED.test.:443'), parseHostHeader('allowed.test', 443))).toBe(true);
    expect(sameAuthority(parseConnectAuthority('allowed.test:443'), parseHostHeader('allowed.test', 80))).toBe(false);
    expect(sameAuthority(parseConnectAuthority('allowed.test:443'), parseHostHeader('allowed.tes', 443))).toBe(false);
  });
  it('canonicalises SNI-style hosts, bracketed or not', () => {
    expect(canonicalHost('API.Allowed.Test')).toEqual({ host: 'api.allowed.test', kind: 'name' });
    expect(canonicalHost('::1')).toEqual({ host: '::1', kind: 'ipv6' });
    expect(canonicalHost('[::1]')).toEqual({ host: '::1', kind: 'ipv6' });
    expect(canonicalHost('①②⑦.⓪.⓪.①')).toEqual({ host: '127.0.0.1', kind: 'ipv4' });
    rejects(() => canonicalHost('allowed.test:443'));
    rejects(() => canonicalHost('evil\u0000.allowed.test'));
    rejects(() => canonicalHost('*.allowed.test'));
  });
});

describe('canonicalHost remembers answers, not refusals', () => {
  it('a spelling seen before gives the same frozen answer; a refused one is refused every time', () => {
    const first = canonicalHost('Repeat.Allowed.Test.');
    expect(canonicalHost('Repeat.Allowed.Test.')).toBe(first);
    expect(first).toEqual({ host: 'repeat.allowed.test', kind: 'name' });
    expect(Object.isFrozen(first)).toBe(true);
    for (let i = 0; i < 3; i++) rejects(() => canonicalHost('ex\u200Bample.test'));
    for (let i = 0; i < 3; i++) rejects(() => parseHostHeader('evil.test%00.allowed.test', 443));
  });

  it('thousands of fresh names later, every spelling still canonicalises to what it did before', () => {
    const samples: Array<[string, { host: string; kind: string }]> = [
      ['API.Allowed.Test', { host: 'api.allowed.test', kind: 'name' }],
      ['2130706433', { host: '127.0.0.1', kind: 'ipv4' }],
      ['[::ffff:7f00:1]', { host: '127.0.0.1', kind: 'ipv4' }],
      ['Bücher.Example', { host: 'xn--bcher-kva.example', kind: 'name' }],
    ];
    for (const [raw, want] of samples) expect(canonicalHost(raw)).toEqual(want);
    for (let i = 0; i < 5000; i++) expect(canonicalHost(`n${i}.spray.test`).host).toBe(`n${i}.spray.test`);
    for (const [raw, want] of samples) expect(canonicalHost(raw)).toEqual(want);
    rejects(() => canonicalHost('*.allowed.test'));
  });
});
