import { describe, expect, it } from 'vitest';
import { guardBlockedError } from '../../../src/guard/index.ts';
import { exchange, newGuard, rand, settings } from './helpers.ts';

const guard = newGuard();

describe('request head', () => {
  it('a token in the query string blocks (the plain-HTTP ?token= leak)', () => {
    const r = guard.checkRequestHead(exchange(), { target: `/collect?x=1&t=ghp_${rand(36)}`, headers: [] });
    expect(r.report.verdict).toBe('block');
    expect(r.report.findings).toContainEqual({ rule: 'secret/github-pat', kind: 'source_token', location: 'query', action: 'block' });
    expect(guardBlockedError(r.report).body()).toMatchObject({ error: 'sluice_guard_blocked', findings: expect.arrayContaining([{ rule: 'secret/github-pat', kind: 'source_token' }]) });
  });

  it('a percent-encoded token in the path is decoded and found', () => {
    const token = `ghp_${rand(36)}`;
    const encoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const r = guard.checkRequestHead(exchange(), { target: `/upload/${encoded}`, headers: [] });
    expect(r.report.findings).toContainEqual(expect.objectContaining({ rule: 'secret/github-pat', location: 'path' }));
  });

  it('PII in a query value is redacted and the rest of the URL is kept', () => {
    const r = guard.checkRequestHead(exchange(), { target: '/search?q=jane.roe%40acme-corp.io&page=2', headers: [['accept', '*/*']] });
    expect(r.report.verdict).toBe('redact');
    expect(r.head.target).toBe('/search?q=%5BREDACTED%3Aemail%5D&page=2');
    expect(new URL(`http://h${r.head.target}`).searchParams.get('page')).toBe('2');
  });

  it('header values are scanned and redacted; a clean request is untouched', () => {
    const r = guard.checkRequestHead(exchange(), { target: '/', headers: [['x-note', 'from jane.roe@acme-corp.io'], ['accept', 'application/json']] });
    expect(r.head.headers).toEqual([['x-note', 'from [REDACTED:email]'], ['accept', 'application/json']]);
    const clean = guard.checkRequestHead(exchange(), { target: '/a?b=c', headers: [['accept', 'text/html']] });
    expect(clean).toEqual({ report: { verdict: 'pass', findings: [] }, head: { target: '/a?b=c', headers: [['accept', 'text/html']] } });
  });

  it('a high-entropy hostname label blocks; an ordinary subdomain passes', () => {
    const leak = `${rand(40, 'abcdefghijklmnopqrstuvwxyz0123456789')}.wild.allowed.test`;
    expect(guard.checkRequestHead(exchange(settings(), leak), { target: '/', headers: [] }).report.findings).toContainEqual({ rule: 'exfil/dns-label', kind: 'dns_exfil', location: 'host', action: 'block' });
    expect(guard.checkRequestHead(exchange(settings(), 'api.wild.allowed.test'), { target: '/', headers: [] }).report.verdict).toBe('pass');
  });
});
