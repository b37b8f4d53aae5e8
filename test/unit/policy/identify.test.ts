// Agent identification: the listener binding, Basic and Bearer tokens, and the 407 paths.
import { describe, expect, it } from 'vitest';
import { AuthRequiredError, errorResponse } from '../../../src/errors.ts';
import { identifyAgent, tokenFrom } from '../../../src/net/identify.ts';

const AGENTS = [
  { id: 'builder', token: 'builder-token-0123456789' },
  { id: 'reviewer', token: 'reviewer-token-0123456789' },
];
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function authError(fn: () => unknown): AuthRequiredError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuthRequiredError) return e;
    throw e;
  }
  throw new Error('expected AuthRequiredError');
}

describe('identifyAgent', () => {
  it('no agents and no listener binding: "default", whatever the header says', () => {
    expect(identifyAgent(undefined, null, [])).toBe('default');
    expect(identifyAgent('Bearer whatever', null, [])).toBe('default');
  });

  it('a bound listener names the agent without a token', () => {
    expect(identifyAgent(undefined, 'builder', AGENTS)).toBe('builder');
    // The socket is the identity: a token for another agent does not switch it.
    expect(identifyAgent(`Bearer ${AGENTS[1]!.token}`, 'builder', AGENTS)).toBe('builder');
  });

  it.each([
    ['Basic, any username', basic('anything', 'builder-token-0123456789'), 'builder'],
    ['Basic, empty username', basic('', 'reviewer-token-0123456789'), 'reviewer'],
    ['Bearer', 'Bearer reviewer-token-0123456789', 'reviewer'],
    ['scheme is case-insensitive', 'bearer builder-token-0123456789', 'builder'],
  ])('%s', (_name, header, agent) => {
    expect(identifyAgent(header, null, AGENTS)).toBe(agent);
  });

  it.each([
    ['missing header', undefined],
    ['wrong token', 'Bearer builder-token-0123456780'],
    ['a token prefix', 'Bearer builder-token'],
    ['a token with extra bytes', 'Bearer builder-token-0123456789x'],
    ['Basic with the token as username', basic('builder-token-0123456789', '')],
    ['Basic without a colon', `Basic ${Buffer.from('builder-token-0123456789').toString('base64')}`],
    ['Basic that is not base64', 'Basic !!!!'],
    ['unknown scheme', 'Digest builder-token-0123456789'],
    ['empty header', ''],
  ])('407 for %s', (_name, header) => {
    const e = authError(() => identifyAgent(header, null, AGENTS));
    const res = errorResponse(e);
    expect(res.status).toBe(407);
    expect(res.headers['proxy-authenticate']).toContain('Basic');
    expect(JSON.parse(res.body).error).toBe('sluice_auth_required');
  });

  it('never puts the token in the error', () => {
    const e = authError(() => identifyAgent('Bearer builder-token-0123456780', null, AGENTS));
    expect(e.message).not.toContain('builder-token');
    expect(errorResponse(e).body).not.toContain('builder-token');
  });

  it('tokenFrom reads Basic passwords with colons', () => {
    expect(tokenFrom(basic('u', 'a:b'))).toBe('a:b');
  });
});
