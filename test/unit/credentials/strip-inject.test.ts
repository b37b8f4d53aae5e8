import { describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { DEFAULT_CREDENTIAL_HEADERS, injectCredential, stripAgentCredentials } from '../../../src/forward/credentials.ts';
import type { CredentialSpec } from '../../../src/policy/types.ts';
import { SecretValue } from '../../../src/secrets/index.ts';

const TOKEN = new SecretValue('GITHUB_TOKEN', 'ghp_realvalue0123456789');

function spec(over: Partial<CredentialSpec>): CredentialSpec {
  return { secret: 'GITHUB_TOKEN', in: 'header', header: 'Authorization', format: 'Bearer {secret}', query: null, placeholder: 'sluice:GITHUB_TOKEN', ...over };
}

describe('stripAgentCredentials', () => {
  it('drops every copy in any case, and the cookie headers', () => {
    const r = stripAgentCredentials(
      [
        ['AUTHORIZATION', 'Bearer agent-own'],
        ['authorization', 'Basic one'],
        ['Authorization', 'Basic two'],
        ['Proxy-Authorization', 'Basic proxy'],
        ['Cookie', 'session=1'],
        ['COOKIE2', '$Version=1'],
        ['X-Api-Key', 'k'],
        ['private-token', 'glpat'],
        ['Accept', 'application/json'],
        ['X-Request-Id', 'abc'],
      ],
      [],
    );
    expect(r.headers).toEqual([
      ['Accept', 'application/json'],
      ['X-Request-Id', 'abc'],
    ]);
    expect(r.stripped.sort()).toEqual(['authorization', 'cookie', 'cookie2', 'private-token', 'proxy-authorization', 'x-api-key']);
  });

  it('drops the extra headers a policy names, and keeps look-alikes', () => {
    const r = stripAgentCredentials(
      [
        ['X-Custom-Auth', 'secret'],
        ['x-custom-auth-hint', 'not a credential'],
        ['Authorization-Hint', 'nope'],
        ['X-Authorization', 'kept: not in the list'],
      ],
      ['X-CUSTOM-AUTH'],
    );
    expect(r.headers.map(([n]) => n)).toEqual(['x-custom-auth-hint', 'Authorization-Hint', 'X-Authorization']);
    expect(r.stripped).toEqual(['x-custom-auth']);
  });

  it('covers the common API-key headers and lists names in lower case', () => {
    for (const h of ['authorization', 'proxy-authorization', 'cookie', 'cookie2', 'x-api-key', 'api-key', 'private-token', 'x-goog-api-key', 'x-auth-token']) {
      expect(DEFAULT_CREDENTIAL_HEADERS).toContain(h);
    }
    for (const h of DEFAULT_CREDENTIAL_HEADERS) expect(h).toBe(h.toLowerCase());
  });
});

describe('injectCredential', () => {
  const head = () => ({ target: '/repos?x=1', headers: [['accept', '*/*'] as [string, string]] });

  it('bearer: one Authorization header with the value', () => {
    const r = injectCredential({ target: '/', headers: [['authorization', 'Bearer stale'], ['accept', '*/*']] }, spec({}), TOKEN);
    expect(r.headers).toEqual([
      ['accept', '*/*'],
      ['Authorization', 'Bearer ghp_realvalue0123456789'],
    ]);
  });

  it('basic: base64 of USERNAME:secret (RFC 7617)', () => {
    const r = injectCredential(head(), spec({ format: 'Basic {basic:x-access-token}' }), TOKEN);
    const value = r.headers.find(([n]) => n === 'Authorization')?.[1] ?? '';
    expect(value.startsWith('Basic ')).toBe(true);
    expect(Buffer.from(value.slice(6), 'base64').toString()).toBe('x-access-token:ghp_realvalue0123456789');
  });

  it('custom header with the raw value replaces any case of the same header', () => {
    const r = injectCredential({ target: '/', headers: [['X-API-KEY', 'agent'], ['x-api-key', 'agent2']] }, spec({ header: 'x-api-key', format: '{secret}' }), TOKEN);
    expect(r.headers).toEqual([['x-api-key', 'ghp_realvalue0123456789']]);
  });

  it('query parameter: the agent copy is replaced, the value is URL-encoded, the rest is kept byte for byte', () => {
    const special = new SecretValue('KEY', 'a&b=c d+/é');
    const r = injectCredential(
      { target: '/v1/search?q=a%20b&key=agent&x=1&k%65y=sneaky&keyring=kept', headers: [] },
      spec({ secret: 'KEY', in: 'query', header: '', format: '{secret}', query: 'key' }),
      special,
    );
    expect(r.target).toBe(`/v1/search?q=a%20b&x=1&keyring=kept&key=${encodeURIComponent('a&b=c d+/é')}`);
    expect(new URL(`http://h${r.target}`).searchParams.getAll('key')).toEqual(['a&b=c d+/é']);
  });

  it('query parameter on a target without a query', () => {
    const r = injectCredential({ target: '/v1', headers: [] }, spec({ in: 'query', header: '', format: '{secret}', query: 'api_key' }), TOKEN);
    expect(r.target).toBe('/v1?api_key=ghp_realvalue0123456789');
  });

  it('a value that would split the header is refused, not sent', () => {
    const evil = new SecretValue('GITHUB_TOKEN', 'abc\r\nX-Evil: 1');
    expect(() => injectCredential(head(), spec({}), evil)).toThrow(SecretUnavailableError);
  });

  it('a value with "$&" is inserted literally', () => {
    const r = injectCredential(head(), spec({}), new SecretValue('GITHUB_TOKEN', 'x$&y$1'));
    expect(r.headers.at(-1)).toEqual(['Authorization', 'Bearer x$&y$1']);
  });
});
