// THREATS 2.2: resolve once, refuse if any answer is refused, dial the checked address.
import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { PolicyDeniedError, UpstreamFailedError, UpstreamTimeoutError } from '../../../src/errors.ts';
import { createAddressGuard } from '../../../src/net/address-guard.ts';
import { parseConnectAuthority } from '../../../src/net/authority.ts';
import { createResolver, dialChecked, resolveChecked } from '../../../src/net/resolve.ts';

type Answers = Record<string, readonly string[] | NodeJS.ErrnoException>;

/** A DNS stand-in (the system resolver is not Sluice's code); records the queries it was asked. */
function fakeDns(answers: Answers): { lookup: typeof dns.promises.lookup; asked: string[] } {
  const asked: string[] = [];
  const lookup = async (host: string, options: unknown) => {
    asked.push(host);
    expect(options).toMatchObject({ all: true, verbatim: true });
    const answer = answers[host];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    if (answer instanceof Error) throw answer;
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup: lookup as unknown as typeof dns.promises.lookup, asked };
}

const guard = createAddressGuard({ selfAddresses: () => [{ address: '127.0.0.1', port: 3128 }] });

describe('createResolver', () => {
  it('answers IP literals with themselves, without DNS', async () => {
    const { lookup, asked } = fakeDns({});
    const resolver = createResolver({}, lookup);
    expect(await resolver.resolve('127.0.0.1', 'ipv4')).toEqual(['127.0.0.1']);
    expect(await resolver.resolve('::1', 'ipv6')).toEqual(['::1']);
    expect(asked).toEqual([]);
  });

  it('uses exact overrides, canonicalising keys and values', async () => {
    const { lookup, asked } = fakeDns({ 'other.test': ['8.8.8.8'] });
    const resolver = createResolver({ 'API.Example.TEST.': '127.1', 'v6.test': ['[::1]', '8.8.4.4'] }, lookup);
    expect(await resolver.resolve('api.example.test', 'name')).toEqual(['127.0.0.1']);
    expect(await resolver.resolve('v6.test', 'name')).toEqual(['::1', '8.8.4.4']);
    expect(await resolver.resolve('other.test', 'name')).toEqual(['8.8.8.8']);
    expect(asked).toEqual(['other.test']);
  });

  it('uses wildcard overrides for subdomains only, most specific first, exact before wildcard', async () => {
    const { lookup } = fakeDns({ 'example.test': ['1.1.1.1'], 'xexample.test': ['1.0.0.1'] });
    const resolver = createResolver(
      { '*.example.test': '10.0.0.1', '*.deep.example.test': '10.0.0.2', 'exact.example.test': '10.0.0.3' },
      lookup,
    );
    expect(await resolver.resolve('a.example.test', 'name')).toEqual(['10.0.0.1']);
    expect(await resolver.resolve('a.b.example.test', 'name')).toEqual(['10.0.0.1']);
    expect(await resolver.resolve('x.deep.example.test', 'name')).toEqual(['10.0.0.2']);
    expect(await resolver.resolve('exact.example.test', 'name')).toEqual(['10.0.0.3']);
    // Near misses: the apex and a name that merely ends in the same characters go to DNS.
    expect(await resolver.resolve('example.test', 'name')).toEqual(['1.1.1.1']);
    expect(await resolver.resolve('xexample.test', 'name')).toEqual(['1.0.0.1']);
  });

  it.each([
    [{ 'bad key.test': '1.1.1.1' }, /bad key/],
    [{ '*.': '1.1.1.1' }, /must be a DNS name/],
    [{ '1.2.3.4': '1.1.1.1' }, /must be a DNS name/],
    [{ 'a.test': 'b.test' }, /not an IP address/],
    [{ 'a.test': [] }, /at least one/],
    [{ 'a.test': '1.1.1.1%00' }, /not an IP address/],
  ])('refuses invalid overrides %j', (overrides, message) => {
    expect(() => createResolver(overrides as Record<string, string | string[]>)).toThrow(message);
  });

  it('turns a DNS failure into UpstreamFailedError naming the host', async () => {
    const { lookup } = fakeDns({ 'flaky.test': Object.assign(new Error('x'), { code: 'EAI_AGAIN' }), 'empty.test': [] });
    const resolver = createResolver({}, lookup);
    await expect(resolver.resolve('missing.test', 'name')).rejects.toThrow(UpstreamFailedError);
    await expect(resolver.resolve('missing.test', 'name')).rejects.toThrow(/missing\.test does not resolve \(ENOTFOUND\)/);
    await expect(resolver.resolve('flaky.test', 'name')).rejects.toThrow(/right now/);
    await expect(resolver.resolve('empty.test', 'name')).rejects.toThrow(/empty\.test does not resolve/);
  });
});

describe('resolveChecked', () => {
  const answers = {
    'public.test': ['8.8.8.8', '2001:4860:4860::8888'],
    'mixed.test': ['8.8.8.8', '169.254.169.254'],
    'mixed6.test': ['2001:4860:4860::8888', '::ffff:127.0.0.1'],
    'internal.test': ['10.1.2.3'],
    'zero.test': ['0.0.0.0'],
  };

  it('returns the first answer when every answer is allowed', async () => {
    const resolver = createResolver({}, fakeDns(answers).lookup);
    const result = await resolveChecked(resolver, guard, parseConnectAuthority('public.test:443'), []);
    expect(result).toEqual({ address: '8.8.8.8', family: 4 });
  });

  it('refuses a mixed answer (one public, one metadata) with a 403 naming the class', async () => {
    const resolver = createResolver({}, fakeDns(answers).lookup);
    const denied = resolveChecked(resolver, guard, parseConnectAuthority('mixed.test:443'), []);
    await expect(denied).rejects.toThrow(PolicyDeniedError);
    await expect(resolveChecked(resolver, guard, parseConnectAuthority('mixed.test:443'), [])).rejects.toThrow(
      /mixed\.test resolves to a link-local\/metadata address/,
    );
    await expect(resolveChecked(resolver, guard, parseConnectAuthority('mixed6.test:443'), [])).rejects.toThrow(/loopback/);
    await expect(resolveChecked(resolver, guard, parseConnectAuthority('zero.test:443'), [])).rejects.toThrow(/resolves to an unspecified address/);
  });

  it('never puts the internal address in the message the agent reads', async () => {
    const resolver = createResolver({}, fakeDns(answers).lookup);
    const error = await resolveChecked(resolver, guard, parseConnectAuthority('internal.test:443'), []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect((error as Error).message).not.toContain('10.1.2.3');
    expect((error as Error).message).toMatch(/private/);
  });

  it('honours allowPrivate exactly', async () => {
    const resolver = createResolver({}, fakeDns(answers).lookup);
    const authority = parseConnectAuthority('internal.test:443');
    expect(await resolveChecked(resolver, guard, authority, ['10.0.0.0/8'])).toEqual({ address: '10.1.2.3', family: 4 });
    await expect(resolveChecked(resolver, guard, authority, ['10.1.2.4/32'])).rejects.toThrow(PolicyDeniedError);
  });

  it('refuses Sluice itself through an override, but not a neighbour port', async () => {
    const resolver = createResolver({ 'loop.test': '127.0.0.1' }, fakeDns({}).lookup);
    await expect(resolveChecked(resolver, guard, parseConnectAuthority('loop.test:3128'), ['127.0.0.0/8'])).rejects.toThrow(
      /loop\.test resolves to one of Sluice's own listening addresses/,
    );
    expect(await resolveChecked(resolver, guard, parseConnectAuthority('loop.test:3129'), ['127.0.0.0/8'])).toEqual({
      address: '127.0.0.1',
      family: 4,
    });
  });

  it('checks IP literals too, and returns the canonical IPv6 text', async () => {
    const resolver = createResolver({}, fakeDns({}).lookup);
    await expect(resolveChecked(resolver, guard, parseConnectAuthority('0x7f.1:80'), [])).rejects.toThrow(/127\.0\.0\.1 is a loopback/);
    expect(await resolveChecked(resolver, guard, parseConnectAuthority('[2001:4860:0:0::8888]:443'), [])).toEqual({
      address: '2001:4860::8888',
      family: 6,
    });
  });
});

describe('system resolver answers are reused for a short while (DNS_ANSWER_TTL_MS)', () => {
  it('asks once for repeated and concurrent requests for one name, and once per name', async () => {
    const dnsStandIn = fakeDns({ 'api.test': ['8.8.8.8'], 'other.test': ['1.1.1.1'] });
    const resolver = createResolver({}, dnsStandIn.lookup);
    const together = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('api.test', 'name')));
    for (let i = 0; i < 30; i++) expect(await resolver.resolve('api.test', 'name')).toEqual(['8.8.8.8']);
    expect(together.every((a) => a[0] === '8.8.8.8')).toBe(true);
    expect(await resolver.resolve('other.test', 'name')).toEqual(['1.1.1.1']);
    expect(dnsStandIn.asked).toEqual(['api.test', 'other.test']);
  });

  it('does not keep a failure: the next request asks again and succeeds once the name resolves', async () => {
    const answers: Answers = {};
    const dnsStandIn = fakeDns(answers);
    const resolver = createResolver({}, dnsStandIn.lookup);
    await expect(resolver.resolve('late.test', 'name')).rejects.toThrow(/late\.test does not resolve/);
    answers['late.test'] = ['8.8.4.4'];
    expect(await resolver.resolve('late.test', 'name')).toEqual(['8.8.4.4']);
    expect(dnsStandIn.asked).toEqual(['late.test', 'late.test']);
  });

  it('sees a changed answer once the cached one has expired', async () => {
    const answers: Answers = { 'moving.test': ['8.8.8.8'] };
    const dnsStandIn = fakeDns(answers);
    const resolver = createResolver({}, dnsStandIn.lookup, 50);
    expect(await resolver.resolve('moving.test', 'name')).toEqual(['8.8.8.8']);
    answers['moving.test'] = ['9.9.9.9'];
    expect(await resolver.resolve('moving.test', 'name')).toEqual(['8.8.8.8']);
    await new Promise((r) => setTimeout(r, 120));
    expect(await resolver.resolve('moving.test', 'name')).toEqual(['9.9.9.9']);
  });

  it('caches the answer, not the verdict: each request is checked against its own entry (THREATS 2.2)', async () => {
    const dnsStandIn = fakeDns({ 'internal.test': ['10.1.2.3'], 'mixed.test': ['8.8.8.8', '169.254.169.254'] });
    const resolver = createResolver({}, dnsStandIn.lookup);
    const internal = parseConnectAuthority('internal.test:443');
    expect(await resolveChecked(resolver, guard, internal, ['10.0.0.0/8'])).toEqual({ address: '10.1.2.3', family: 4 });
    await expect(resolveChecked(resolver, guard, internal, [])).rejects.toThrow(PolicyDeniedError);
    const mixed = parseConnectAuthority('mixed.test:443');
    for (let i = 0; i < 3; i++) await expect(resolveChecked(resolver, guard, mixed, [])).rejects.toThrow(/link-local|metadata/);
    expect(dnsStandIn.asked).toEqual(['internal.test', 'mixed.test']);
  });

  it('never hands out a cached list that a caller could change', async () => {
    const resolver = createResolver({}, fakeDns({ 'api.test': ['8.8.8.8'] }).lookup);
    const first = await resolver.resolve('api.test', 'name');
    first[0] = '169.254.169.254';
    expect(await resolver.resolve('api.test', 'name')).toEqual(['8.8.8.8']);
  });
});

describe('dialChecked: known answers checked at once, unknown ones bounded by the timeout', () => {
  it('checks a cached answer against each entry exactly as resolveChecked does, without asking DNS again', async () => {
    const dnsStandIn = fakeDns({ 'internal.test': ['10.1.2.3'], 'mixed.test': ['8.8.8.8', '169.254.169.254'] });
    const resolver = createResolver({}, dnsStandIn.lookup);
    const internal = parseConnectAuthority('internal.test:443');
    expect(resolver.known('internal.test', 'name')).toBeUndefined();
    expect(await dialChecked(resolver, guard, internal, ['10.0.0.0/8'], 1000)).toEqual({ address: '10.1.2.3', family: 4 });
    expect(resolver.known('internal.test', 'name')).toEqual(['10.1.2.3']);
    // Attack: the same cached answer for an entry without the exemption is refused, as a fresh lookup would be.
    await expect(dialChecked(resolver, guard, internal, [], 1000)).rejects.toThrow(PolicyDeniedError);
    expect(await dialChecked(resolver, guard, internal, ['10.0.0.0/8'], 1000)).toEqual({ address: '10.1.2.3', family: 4 });
    const mixed = parseConnectAuthority('mixed.test:443');
    for (let i = 0; i < 3; i++) await expect(dialChecked(resolver, guard, mixed, [], 1000)).rejects.toThrow(/link-local|metadata/);
    expect(dnsStandIn.asked).toEqual(['internal.test', 'mixed.test']);
  });

  it('checks overrides and IP literals without DNS: metadata refused, a public address allowed', async () => {
    const { lookup, asked } = fakeDns({});
    const resolver = createResolver({ 'meta.test': '169.254.169.254', 'pub.test': '8.8.8.8' }, lookup);
    await expect(dialChecked(resolver, guard, parseConnectAuthority('meta.test:443'), [], 1000)).rejects.toThrow(PolicyDeniedError);
    expect(await dialChecked(resolver, guard, parseConnectAuthority('pub.test:443'), [], 1000)).toEqual({ address: '8.8.8.8', family: 4 });
    await expect(dialChecked(resolver, guard, parseConnectAuthority('127.0.0.1:3128'), ['127.0.0.0/8'], 1000)).rejects.toThrow(PolicyDeniedError);
    expect(await dialChecked(resolver, guard, parseConnectAuthority('127.0.0.1:3129'), ['127.0.0.0/8'], 1000)).toEqual({ address: '127.0.0.1', family: 4 });
    expect(asked).toEqual([]);
  });

  it('gives up on a lookup that does not answer with UpstreamTimeoutError', async () => {
    const never = (() => new Promise(() => undefined)) as unknown as typeof dns.promises.lookup;
    const resolver = createResolver({}, never);
    const started = Date.now();
    await expect(dialChecked(resolver, guard, parseConnectAuthority('slow.test:443'), [], 60)).rejects.toThrow(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
