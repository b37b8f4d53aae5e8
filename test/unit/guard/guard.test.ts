// The assembled Guard: C's known-secret and placeholder stages run in the request pipeline, and the
// response side gets the echo stage through E's filter.
import { describe, expect, it } from 'vitest';
import { GuardBlockedError } from '../../../src/errors.ts';
import { createGuard, defaultRulePack } from '../../../src/guard/index.ts';
import type { CredentialSpec, Decision } from '../../../src/policy/types.ts';
import { SecretValue } from '../../../src/secrets/types.ts';
import { rand, runFilter, settings } from './helpers.ts';

const value = `v-${rand(30)}`;
const secrets = [new SecretValue('SERVICE_TOKEN', value)];
const credential: CredentialSpec = { secret: 'SERVICE_TOKEN', in: 'header', header: 'Authorization', format: 'Bearer {secret}', query: null, placeholder: 'sluice:SERVICE_TOKEN' };
const guard = createGuard({ knownSecrets: () => secrets, credentials: () => [credential], isHostAllowed: () => true, rulePack: defaultRulePack() });
const ctx = (host: string, bound: CredentialSpec | null = null, s = settings()) => ({ agent: 'a', host, port: 443, method: 'POST', decision: { guard: s, credential: bound } as unknown as Decision });

describe('assembled guard', () => {
  it('a known secret value leaving in a request body is blocked, base64 too', async () => {
    for (const body of [`leak ${value}`, `leak ${Buffer.from(value).toString('base64')}`]) {
      const r = await runFilter(guard.requestBody(ctx('api.other.test'), 'text/plain', '')!, [Buffer.from(body)]);
      expect(r.error).toBeInstanceOf(GuardBlockedError);
    }
  });

  it('a placeholder sent to a host not bound to it is blocked; on the bound host it passes', async () => {
    const wrong = await runFilter(guard.requestBody(ctx('api.other.test'), 'application/json', '')!, [Buffer.from('{"key":"sluice:SERVICE_TOKEN"}')]);
    expect(wrong.error).toBeInstanceOf(GuardBlockedError);
    const right = await runFilter(guard.requestBody(ctx('api.bound.test', credential), 'application/json', '')!, [Buffer.from('{"key":"sluice:SERVICE_TOKEN"}')]);
    expect(right.error).toBeNull();
  });

  it('response headers echoing a secret are redacted; others are untouched', () => {
    const r = guard.checkResponseHead(ctx('api.bound.test', credential), { status: 200, headers: [['x-echo', `token=${value}`], ['content-type', 'text/plain']] });
    expect(r.head.headers[0]![1]).not.toContain(value);
    expect(r.head.headers[1]).toEqual(['content-type', 'text/plain']);
    expect(r.report.verdict).toBe('redact');
  });

  it('a response head with no known secret in it goes on exactly as it came', () => {
    const head = { status: 200, headers: [['x-echo', `token=${value.slice(0, -1)}`], ['content-type', 'text/plain']] as [string, string][] };
    const r = guard.checkResponseHead(ctx('api.bound.test', credential), head);
    expect(r.report).toEqual({ verdict: 'pass', findings: [] });
    expect(r.head.headers).toEqual(head.headers);
  });

  it('response bodies go through the response filter with echo redaction', async () => {
    const f = guard.responseBody(ctx('api.bound.test', credential), { status: 200, headers: [['content-type', 'text/plain']] });
    expect(f).not.toBeNull();
    const r = await runFilter(f!, [Buffer.from(`your token is ${value}.`)]);
    expect(r.error).toBeNull();
    expect(r.out.toString()).not.toContain(value);
  });

  describe('request: off skips DLP but not the checks that protect Sluice\'s own secrets', () => {
    const off = settings({ request: 'off' });
    it('a known secret in a body to an opted-out host is still blocked', async () => {
      const f = guard.requestBody(ctx('api.other.test', null, off), 'text/plain', '');
      expect(f).not.toBeNull();
      const r = await runFilter(f!, [Buffer.from(`leak ${value}`)]);
      expect(r.error).toBeInstanceOf(GuardBlockedError);
    });

    it('a misused placeholder in a body to an opted-out host is still blocked', async () => {
      const r = await runFilter(guard.requestBody(ctx('api.other.test', null, off), 'application/json', '')!, [Buffer.from('{"key":"sluice:SERVICE_TOKEN"}')]);
      expect(r.error).toBeInstanceOf(GuardBlockedError);
    });

    it('near miss: secret patterns, PII and exfil are skipped there, and the head report says so', async () => {
      const body = `token ghp_${rand(36)} mail jane.roe@acme-corp.io card 4111 1111 1111 1111`;
      const r = await runFilter(guard.requestBody(ctx('api.other.test', null, off), 'text/plain', '')!, [Buffer.from(body)]);
      expect(r.error).toBeNull();
      expect(r.out.toString()).toBe(body);
      const on = await runFilter(guard.requestBody(ctx('api.other.test'), 'text/plain', '')!, [Buffer.from(body)]);
      expect(on.error).toBeInstanceOf(GuardBlockedError);
      expect(guard.checkRequestHead(ctx('api.other.test', null, off), { target: '/', headers: [] }).report.skipped).toMatch(/request: off/);
    });
  });
});
