// Host matching and path policy as differentials (THREATS 2.1, 2.10), extending test/unit/net/properties.test.ts:
// whatever raw authority or path an agent sends, what the real policy allows must also be allowed by an independent
// oracle reading the canonical value, and the path an independent URL parser would serve must stay inside the
// allowed prefix. A disagreement is exactly the bypass class of Orange Tsai's SSRF and Envoy CVE-2019-9901.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/errors.ts';
import { parseConnectAuthority, parseHostHeader, parseAbsoluteTarget, normalisePath } from '../../src/net/authority.ts';
import { policyFrom } from './support.ts';

const policy = policyFrom(`hosts:
  - host: api.allowed.test
    ports: [443]
  - host: "*.wild.allowed.test"
    ports: [443]
  - host: files.allowed.test
    ports: [443]
    allow:
      - { methods: [GET], paths: ["/public/**"] }
`);

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BadRequestError) return null;
    throw e;
  }
}

/** The independent oracle: canonical names only, label-exact. */
function oracleAllows(host: string): boolean {
  return host === 'api.allowed.test' || host === 'files.allowed.test' || /^(?:[a-z0-9-]+\.)+wild\.allowed\.test$/.test(host);
}

const NEAR = ['api.allowed.test', 'wild.allowed.test', 'x.wild.allowed.test', 'xwild.allowed.test', 'files.allowed.test', 'allowed.test', 'evil.test'];
const TWEAKS = ['', '.', '..', 'A', '-', '.evil.test', 'evil.', '%00', '\u0000', '@', ':443', '\u0130', '\u212a', '\uff0e', '\u3002', 'x.', '*.', ' ', '\u200b'];
const nearName = fc
  .tuple(fc.constantFrom(...NEAR), fc.constantFrom(...TWEAKS), fc.constantFrom(...TWEAKS), fc.boolean())
  .map(([base, pre, post, upper]) => `${pre}${upper ? base.toUpperCase() : base}${post}`);

describe('host matching against an independent oracle', () => {
  it('CONNECT: an allowed decision implies the oracle allows the canonical host, and the reverse', () => {
    fc.assert(
      fc.property(nearName, (name) => {
        const a = attempt(() => parseConnectAuthority(`${name}:443`));
        if (a === null) return;
        const allowed = policy.decideHost('default', a.host, a.port, 'https').verdict === 'allow';
        expect(allowed, `${JSON.stringify(name)} -> ${a.host}`).toBe(oracleAllows(a.host));
      }),
      { numRuns: 4000 },
    );
  });

  it('the same name through CONNECT, Host and an absolute URL canonicalises to the same value', () => {
    fc.assert(
      fc.property(nearName, (name) => {
        const c = attempt(() => parseConnectAuthority(`${name}:443`));
        const h = attempt(() => parseHostHeader(`${name}:443`, 443));
        const u = attempt(() => parseAbsoluteTarget(`https://${name}:443/`));
        expect(h).toEqual(c);
        if (u !== null) expect(u.authority).toEqual(c);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('path policy against an independent URL parser', () => {
  const segment = fc.constantFrom('public', 'private', 'a', '.', '..', '%2e', '%2E%2e', '.%2e', '%70ublic', 'PUBLIC', '..;', ';', '%3b', '', '%2f', '%5c', '~', '%7e', 'x%41');
  const rawPath = fc.array(segment, { minLength: 1, maxLength: 7 }).map((s) => `/${s.join('/')}`);

  it('a path allowed under /public/** is under /public/ for WHATWG URL too (no dot-segment or escape bypass)', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const path = attempt(() => normalisePath(raw));
        if (path === null) return;
        const d = policy.decide({ agent: 'default', host: 'files.allowed.test', port: 443, method: 'GET', path, scheme: 'https' });
        if (d.verdict !== 'allow') return;
        // What an upstream would serve: the URL parser resolves dots and %2e; then decode unreserved escapes.
        const served = decodeURIComponent(new URL(`https://files.allowed.test${raw}`).pathname);
        // "/public/**" also matches "/public" itself (globstar); nothing else may match.
        const inside = (p: string) => p === '/public' || p.startsWith('/public/');
        expect(inside(served), `${raw} -> policy saw ${path}, upstream serves ${served}`).toBe(true);
        expect(inside(path)).toBe(true);
      }),
      { numRuns: 4000 },
    );
  });

  it('decoding unreserved escapes never changes the decision (near miss: %70ublic is public)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('public', 'a', 'b-c', 'x.y', '~u'), { minLength: 1, maxLength: 4 }), fc.nat(), (segs, seed) => {
        const plain = `/${segs.join('/')}`;
        const encoded = [...plain].map((ch, i) => (ch !== '/' && (seed >> i % 16) & 1 ? `%${ch.charCodeAt(0).toString(16)}` : ch)).join('');
        expect(normalisePath(encoded)).toBe(normalisePath(plain));
      }),
      { numRuns: 2000 },
    );
  });
});
