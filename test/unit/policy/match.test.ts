// Matching tables: every rule beside its near miss.
import { describe, expect, it } from 'vitest';
import { canonicalHost, normalisePath } from '../../../src/net/authority.ts';
import { decide, policyOf, type Req } from './helpers.ts';

type Row = [string, Req, 'allow' | 'deny'];

function table(policyYaml: string, rows: readonly Row[]) {
  const policy = policyOf(policyYaml);
  it.each(rows)('%s', (_name, req, expected) => {
    const d = decide(policy, req);
    expect(d.verdict, d.reason).toBe(expected);
  });
}

describe('host patterns', () => {
  table(
    `
hosts:
  - host: "*.github.com"
  - host: example.org
`,
    [
      ['wildcard matches a subdomain', { host: 'api.github.com' }, 'allow'],
      ['wildcard matches deeper subdomains', { host: 'a.b.github.com' }, 'allow'],
      ['wildcard does not match the apex', { host: 'github.com' }, 'deny'],
      ['wildcard does not match a name that merely ends the same', { host: 'xgithub.com' }, 'deny'],
      ['wildcard does not match an allowed name used as a prefix', { host: 'api.github.com.evil.test' }, 'deny'],
      ['exact matches itself', { host: 'example.org' }, 'allow'],
      ['exact does not match subdomains', { host: 'www.example.org' }, 'deny'],
      ['a NUL-byte suffix trick is not a canonical name', { host: 'attacker\0.api.github.com' }, 'deny'],
      ['upper case is not canonical (the caller must canonicalise)', { host: 'API.GITHUB.COM' }, 'deny'],
      ['trailing dot is not canonical', { host: 'example.org.' }, 'deny'],
    ],
  );
});

describe('host names in policies are canonicalised', () => {
  table(
    `
hosts:
  - host: "Bücher.Example."
  - host: "*.API.Example.COM"
`,
    [
      ['IDN entry matches the punycode host', { host: canonicalHost('bücher.example').host }, 'allow'],
      ['IDN entry, A-label form', { host: 'xn--bcher-kva.example' }, 'allow'],
      ['a look-alike ASCII name does not match', { host: 'bucher.example' }, 'deny'],
      ['wildcard entry was lower-cased', { host: 'v1.api.example.com' }, 'allow'],
      ['wildcard apex still excluded', { host: 'api.example.com' }, 'deny'],
    ],
  );
});

describe('the most specific pattern decides', () => {
  table(
    `
hosts:
  - host: "*.example.com"
  - host: gist.example.com
    deny: [{}]
  - host: api.example.com
    allow: [{ methods: [GET] }]
`,
    [
      ['wildcard allows other subdomains', { host: 'www.example.com', method: 'DELETE' }, 'allow'],
      ['an exact entry with a catch-all deny carves a name out', { host: 'gist.example.com' }, 'deny'],
      ['the exact entry narrows methods', { host: 'api.example.com', method: 'POST' }, 'deny'],
      ['near miss: GET on the exact entry', { host: 'api.example.com', method: 'GET' }, 'allow'],
    ],
  );
});

describe('paths and methods', () => {
  const n = normalisePath;
  table(
    `
hosts:
  - host: api.example.com
    allow:
      - { methods: [GET, POST], paths: ["/repos/**"] }
      - { methods: [GET], paths: ["/user"] }
    deny:
      - { methods: [POST], paths: ["/repos/*/*/hooks"] }
`,
    [
      ['glob allows a nested path', { host: 'api.example.com', path: '/repos/a/b' }, 'allow'],
      ['dot segments are removed before matching', { host: 'api.example.com', path: n('/repos/../admin') }, 'deny'],
      ['near miss: a dot segment that stays inside', { host: 'api.example.com', path: n('/repos/a/../b') }, 'allow'],
      ['unnormalised paths are denied, never matched', { host: 'api.example.com', path: '/repos/../admin' }, 'deny'],
      ['paths are case-sensitive', { host: 'api.example.com', path: '/Repos/x' }, 'deny'],
      ['a prefix is not a match', { host: 'api.example.com', path: '/reposx' }, 'deny'],
      ['exact path', { host: 'api.example.com', path: '/user' }, 'allow'],
      ['exact path does not extend', { host: 'api.example.com', path: '/user/keys' }, 'deny'],
      ['methods are case-sensitive', { host: 'api.example.com', method: 'get', path: '/user' }, 'deny'],
      ['method not in the rule', { host: 'api.example.com', method: 'DELETE', path: '/repos/a' }, 'deny'],
      ['method from another rule does not leak', { host: 'api.example.com', method: 'POST', path: '/user' }, 'deny'],
      ['deny beats allow', { host: 'api.example.com', method: 'POST', path: '/repos/a/b/hooks' }, 'deny'],
      ['near miss: same path, method the deny does not name', { host: 'api.example.com', method: 'GET', path: '/repos/a/b/hooks' }, 'allow'],
      ['HEAD is not implied by GET', { host: 'api.example.com', method: 'HEAD', path: '/user' }, 'deny'],
    ],
  );
});

describe('agents', () => {
  table(
    `
hosts:
  - host: build.example.com
    agents: [builder]
  - host: shared.example.com
`,
    [
      ['the named agent is allowed', { host: 'build.example.com', agent: 'builder' }, 'allow'],
      ['another agent is not', { host: 'build.example.com', agent: 'reviewer' }, 'deny'],
      ['entries without agents apply to all', { host: 'shared.example.com', agent: 'reviewer' }, 'allow'],
    ],
  );
});

describe('ports', () => {
  table(
    `
hosts:
  - host: default.example.com
  - host: custom.example.com
    ports: [8443, 9000]
`,
    [
      ['https defaults to 443', { host: 'default.example.com', port: 443 }, 'allow'],
      ['plain http defaults to 80', { host: 'default.example.com', port: 80, scheme: 'http' }, 'allow'],
      ['https is not allowed on 80 by default', { host: 'default.example.com', port: 80, scheme: 'https' }, 'deny'],
      ['SSH port on an allowed host', { host: 'default.example.com', port: 22 }, 'deny'],
      ['listed port', { host: 'custom.example.com', port: 9000 }, 'allow'],
      ['443 is not implied when ports are listed', { host: 'custom.example.com', port: 443 }, 'deny'],
    ],
  );
});

describe('IP and CIDR entries', () => {
  table(
    `
hosts:
  - host: 10.1.2.3
  - host: 192.168.0.0/16
  - host: "[2001:db8::1]"
  - host: 2001:db8:aa::/48
  - host: "*.example.com"
`,
    [
      ['exact IPv4', { host: '10.1.2.3' }, 'allow'],
      ['neighbour of an exact IPv4', { host: '10.1.2.4' }, 'deny'],
      ['inside the CIDR', { host: '192.168.44.5' }, 'allow'],
      ['just outside the CIDR', { host: '192.169.0.1' }, 'deny'],
      ['exact IPv6', { host: '2001:db8::1' }, 'allow'],
      ['IPv6 in the /48', { host: '2001:db8:aa:1::5' }, 'allow'],
      ['IPv6 outside the /48', { host: '2001:db8:ab::5' }, 'deny'],
      ['IPv4-mapped IPv6 of an allowed IPv4', { host: '::ffff:10.1.2.3' }, 'allow'],
      ['a host-name wildcard never matches an IP literal', { host: '93.184.216.34' }, 'deny'],
      ['metadata address', { host: '169.254.169.254' }, 'deny'],
    ],
  );
});

describe('decisions', () => {
  const policy = policyOf(`
message: "Ask the operator in #infra."
hosts:
  - host: api.example.com
    allow: [{ methods: [GET], paths: ["/repos/**"] }]
    allowPrivate: [10.0.0.0/8]
    credential: { secret: API_TOKEN }
    guard: { secrets: redact }
  - host: 10.9.9.9
  - host: tunnel.example.com
    mode: tunnel
`);

  it('are frozen and carry the credential, guard and private exemptions', () => {
    const d = decide(policy, { host: 'api.example.com', path: '/repos/x' });
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(d.query)).toBe(true);
    expect(d.credential?.secret).toBe('API_TOKEN');
    expect(d.credential?.placeholder).toBe('sluice:API_TOKEN');
    expect(d.guard.secrets).toBe('redact');
    expect(d.allowPrivate).toEqual(['10.0.0.0/8']);
    expect(d.rule?.line).toBe(4);
  });

  it('give a denial reason an agent can act on', () => {
    const d = decide(policy, { host: 'api.example.com', method: 'DELETE', path: '/admin' });
    expect(d.verdict).toBe('deny');
    expect(d.credential).toBeNull();
    expect(d.reason).toMatch(/^DELETE https:\/\/api\.example\.com\/admin is not allowed: .*p\.yaml allows only GET on \/repos\/\*\* for this host\. Do not retry/);
    const unknown = decide(policy, { host: 'other.example.com' });
    expect(unknown.reason).toContain('no policy entry allows the host other.example.com');
    expect(unknown.message).toBe('Ask the operator in #infra.');
  });

  it('an IP entry exempts itself from the private-address block', () => {
    expect(decide(policy, { host: '10.9.9.9' }).allowPrivate).toEqual(['10.9.9.9/32']);
  });

  it('decideHost reports the mode', () => {
    expect(policy.decideHost('default', 'tunnel.example.com', 443, 'https').mode).toBe('tunnel');
    expect(policy.decideHost('default', 'api.example.com', 443, 'https').verdict).toBe('allow');
    expect(policy.decideHost('default', 'api.example.com', 22, 'https').verdict).toBe('deny');
  });

  it('an empty policy denies everything', () => {
    const empty = policyOf('');
    expect(decide(empty, { host: 'example.com' }).verdict).toBe('deny');
    expect(empty.entryCount).toBe(0);
  });

  it('a bare "*" with unsafeAllowAll allows any name but not IP literals', () => {
    const all = policyOf('unsafeAllowAll: true\nhosts:\n  - host: "*"\n');
    expect(decide(all, { host: 'anything.example' }).verdict).toBe('allow');
    expect(decide(all, { host: '10.0.0.1' }).verdict).toBe('deny');
  });
});

describe('path globs and escapes, isHostAllowed (docs review findings)', () => {
  it('a glob written with a lower-case escape matches the normalised request path; a different escape does not', async () => {
    const { policyOf: load, decide: d } = await import('./helpers.ts');
    const p = load('hosts:\n  - host: api.example.com\n    allow:\n      - paths: ["/a%3ab/**", "/%7euser"]\n');
    expect(d(p, { host: 'api.example.com', path: '/a%3Ab/x' }).verdict).toBe('allow');
    expect(d(p, { host: 'api.example.com', path: '/~user' }).verdict).toBe('allow');
    expect(d(p, { host: 'api.example.com', path: '/a%3Bb/x' }).verdict).toBe('deny');
  });

  it('isHostAllowed ignores bare "*" and hosts carved out with deny: [{}]; a real entry counts', async () => {
    const { policyOf: load } = await import('./helpers.ts');
    const p = load('unsafeAllowAll: true\nhosts:\n  - host: "*"\n  - host: closed.example.com\n    deny: [{}]\n  - host: open.example.com\n');
    expect(p.isHostAllowed('random.example.org')).toBe(false);
    expect(p.isHostAllowed('closed.example.com')).toBe(false);
    expect(p.isHostAllowed('open.example.com')).toBe(true);
  });
});
