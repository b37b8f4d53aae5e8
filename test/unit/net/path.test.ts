// THREATS 2.10: the path policy matches is the path forwarded, with no encoding a server could read otherwise.
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors.ts';
import { normalisePath, parseOriginTarget } from '../../../src/net/authority.ts';

describe('normalisePath', () => {
  it.each([
    ['/repos/../admin', '/admin'],
    ['/a/./b//c', '/a/b//c'],
    ['/%7E', '/~'],
    ['/%7euser', '/~user'],
    ['/%41', '/A'],
    ['/a%2Db%5F', '/a-b_'],
    ['/', '/'],
    ['/..', '/'],
    ['/../../etc', '/etc'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/a/b/../../c', '/c'],
    ['/file%2etxt', '/file.txt'],
    ['/%2e%2e%2ex', '/...x'],
    ['/...', '/...'],
    ['/a..b/.c/..d', '/a..b/.c/..d'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/100%25', '/100%25'],
    ['/Repos/ABC', '/Repos/ABC'],
    ['/a;b=c/d', '/a;b=c/d'],
    ['/a:b@c!$&\'()*+,=', '/a:b@c!$&\'()*+,='],
  ])('%s → %s', (raw, expected) => {
    expect(normalisePath(raw)).toBe(expected);
  });

  it.each([
    // Encoded dot segments (Envoy CVE-2019-9901) beside the plain ones that are simply removed.
    ['/a/%2e%2e/b', '/a/../b'],
    ['/a/%2E%2E/b', '/a/../b'],
    ['/a/.%2e/b', '/a/../b'],
    ['/a/%2e/b', '/a/./b'],
    ['/a/%2e%2e', '/a/..'],
    // Escaped separators (Envoy CVE-2021-29492).
    ['/a%2fb', '/a/b'],
    ['/a%2Fb', '/a/b'],
    ['/a%5cb', '/a/b'],
    ['/a%5Cb', '/a/b'],
    ['/a\\b', '/a/b'],
    // Tomcat "..;/".
    ['/repos/..;/admin', '/repos/../admin'],
    ['/repos/.;x/admin', '/repos/./admin'],
    // Controls, NUL, spaces, non-ASCII, malformed escapes.
    ['/a\u0000b', '/ab'],
    ['/a%00b', '/a%20b'],
    ['/a%0ab', '/a%20b'],
    ['/a b', '/a%20b'],
    ['/a\tb', '/ab'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/a%zz', '/a%25zz'],
    ['/a%4', '/a%41'],
    ['/a?b', '/a'],
    ['/a#b', '/a'],
    ['a/b', '/a/b'],
    ['', '/'],
  ])('%j refused, %j accepted', (attack, nearMiss) => {
    expect(() => normalisePath(attack)).toThrow(BadRequestError);
    expect(() => normalisePath(nearMiss)).not.toThrow();
  });

  it('names the problem for the agent', () => {
    expect(() => normalisePath('/a/%2e%2e/b')).toThrow(/encoded dot segment/);
    expect(() => normalisePath('/a%2fb')).toThrow(/encoded "\/"/);
  });
});

describe('parseOriginTarget', () => {
  it('splits and normalises', () => {
    expect(parseOriginTarget('/a/../b?x=1&y=%41')).toEqual({ path: '/b', query: 'x=1&y=%41' });
    expect(parseOriginTarget('/a')).toEqual({ path: '/a', query: '' });
  });
  it.each(['*', 'http://x/', '/a?b#c', '/a?b\\c', '/a?%zz', '/%2e%2e?x'])('refuses %j', (raw) => {
    expect(() => parseOriginTarget(raw)).toThrow(BadRequestError);
  });
});
