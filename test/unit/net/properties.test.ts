// Property tests: whatever bytes an agent sends, parsing either refuses with a 400 or yields a canonical
// value that parses back to itself (one parse, one decision, one dial).
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors.ts';
import {
  canonicalHost,
  formatAuthority,
  normalisePath,
  parseAbsoluteTarget,
  parseConnectAuthority,
  parseHostHeader,
} from '../../../src/net/authority.ts';
import type { Authority } from '../../../src/net/authority.ts';

/** Characters that have broken authority parsers before, plus enough ordinary ones to form valid names. */
const HOST_CHARS = [
  'a', 'b', 'x', 'n', 'f', 'e', 'A', 'Z', '0', '1', '2', '7', '9', '.', '.', '-', ':', ':', '[', ']', '%', '@',
  '/', '\\', '#', '?', '+', '_', '*', ' ', '\t', '\u0000', '\u007f', '①', '②', '⑦', '⓪', 'ｅ', '０', 'ü', 'Ü',
  'ß', '\u00ad', '\u200b', '。', '．', 'ﬀ', 'K', '\u212a', 'İ', 'ı', '\ud800', '😀',
];

const hostish = fc.array(fc.constantFrom(...HOST_CHARS), { maxLength: 24 }).map((cs) => cs.join(''));
const label = fc.stringMatching(/^[a-zA-Z0-9ü①ｅ-]{1,8}$/);
const nameish = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4ish = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(String),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((n) => `0x${n.toString(16)}`),
);
const ipv6ish = fc.ipV6().map((a) => `[${a}]`);
const portish = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '+443', '0443', '443 ', '00', '1e3'));
const authorityish = fc.oneof(
  hostish,
  fc.tuple(fc.oneof(hostish, nameish, ipv4ish, ipv6ish), portish).map(([h, p]) => `${h}:${p}`),
  fc.tuple(nameish, fc.constantFrom('', '.', '..'), fc.integer({ min: 1, max: 65535 })).map(([h, d, p]) => `${h}${d}:${p}`),
);

function attempt<T>(fn: () => T): T | BadRequestError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
}

function expectCanonical(a: Authority): void {
  expect(a.port).toBeGreaterThanOrEqual(1);
  expect(a.port).toBeLessThanOrEqual(65535);
  if (a.kind === 'name') {
    expect(a.host).toMatch(/^[a-z0-9.-]+$/);
    expect(a.host.length).toBeLessThanOrEqual(253);
    expect(a.host.split('.').every((l) => l.length >= 1 && l.length <= 63)).toBe(true);
  } else if (a.kind === 'ipv4') {
    expect(ipaddr.IPv4.isValidFourPartDecimal(a.host)).toBe(true);
  } else {
    expect(ipaddr.IPv6.isValid(a.host)).toBe(true);
    expect(a.host).toBe(ipaddr.IPv6.parse(a.host).toRFC5952String());
  }
}

describe('authority properties', () => {
  it('parseConnectAuthority throws only BadRequestError, and returns only canonical hosts', () => {
    fc.assert(
      fc.property(authorityish, (raw) => {
        const result = attempt(() => parseConnectAuthority(raw));
        if (!(result instanceof BadRequestError)) expectCanonical(result);
      }),
      { numRuns: 3000 },
    );
  });

  it('canonicalisation is idempotent: parse(format(parse(x))) equals parse(x)', () => {
    fc.assert(
      fc.property(authorityish, (raw) => {
        const first = attempt(() => parseConnectAuthority(raw));
        if (first instanceof BadRequestError) return;
        expect(parseConnectAuthority(formatAuthority(first))).toEqual(first);
        expect(parseHostHeader(formatAuthority(first), 1)).toEqual(first);
        expect(canonicalHost(first.host)).toEqual({ host: first.host, kind: first.kind });
      }),
      { numRuns: 3000 },
    );
  });

  it('every valid generated name or address is accepted (the parser is not just refusing everything)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.domain(), fc.ipV4(), ipv6ish), fc.integer({ min: 1, max: 65535 }), (host, port) => {
        const a = parseConnectAuthority(`${host}:${port}`);
        expectCanonical(a);
        expect(a.port).toBe(port);
      }),
      { numRuns: 1000 },
    );
  });

  it('parseAbsoluteTarget throws only BadRequestError and its parts re-parse to themselves', () => {
    const target = fc
      .tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'http:/', ''), authorityish, fc.array(fc.constantFrom('/', 'a', '.', '..', '%2e', '%2f', '%41', '?', '#', '\\', ';', '%'), { maxLength: 10 }))
      .map(([s, a, p]) => `${s}${a}${p.join('')}`);
    fc.assert(
      fc.property(target, (raw) => {
        const result = attempt(() => parseAbsoluteTarget(raw));
        if (result instanceof BadRequestError) return;
        expectCanonical(result.authority);
        expect(normalisePath(result.path)).toBe(result.path);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('normalisePath properties', () => {
  const segment = fc.oneof(
    fc.constantFrom('.', '..', '', '%2e', '%2E', '.%2e', '%2e%2e', '%2f', '%5C', '..;', 'a', 'B', '%41', '%7e', '%c3%a9', '%', '%zz', ';x', '~', '\\', ' ', '\u0000', '%00'),
    fc.stringMatching(/^[A-Za-z0-9._~%-]{0,6}$/),
  );
  const pathish = fc.oneof(
    fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`),
    fc.string({ maxLength: 20 }),
  );

  it('never throws anything but BadRequestError, never leaves a dot segment, and is idempotent', () => {
    fc.assert(
      fc.property(pathish, (raw) => {
        const result = attempt(() => normalisePath(raw));
        if (result instanceof BadRequestError) return;
        expect(result.startsWith('/')).toBe(true);
        const segments = result.split('/').slice(1);
        expect(segments.some((s) => s === '.' || s === '..')).toBe(false);
        expect(result).not.toContain('/../');
        expect(result).not.toContain('/./');
        expect(result).not.toMatch(/%2f|%5c|%2e/i);
        expect(normalisePath(result)).toBe(result);
      }),
      { numRuns: 5000 },
    );
  });
});
