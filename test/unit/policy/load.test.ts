// Loading: every kind of mistake gives its exact located message; valid merges load.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../../src/errors.ts';
import { loadPolicy, renderCredential } from '../../../src/policy/index.ts';
import { decide, policyOf, problemsOf } from './helpers.ts';

const INVALID = 'test/fixtures/policies/invalid';
const AGENTS = { globalAllowPrivate: [], agents: ['default', 'builder'] };

describe('invalid policy fixtures (one mistake each)', () => {
  const cases = fs.readdirSync(INVALID).sort();
  it('covers the required kinds of mistake', () => {
    for (const k of ['unknown-key', 'bad-yaml', 'public-suffix-wildcard', 'credential-on-wildcard', 'bad-port', 'bad-cidr', 'bad-glob', 'bad-method', 'conflict-across-files', 'duplicate-key']) {
      expect(cases).toContain(k);
    }
  });
  it.each(cases)('%s', (name) => {
    const dir = path.join(INVALID, name);
    const expected = fs.readFileSync(path.join(dir, 'expected'), 'utf8').trimEnd().split('\n');
    const r = loadPolicy(dir, AGENTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map(formatProblem)).toEqual(expected);
  });
  it('a typo like "alow:" is reported at its line and column', () => {
    expect(problemsOf('hosts:\n  - host: a.example.com\n    alow: []\n')).toEqual(['p.yaml:3:5: unknown key "alow" at hosts[0].alow (did you mean "allow"?)']);
  });
});

describe('valid policies', () => {
  it('merges files; same host with disjoint agents or ports, identical duplicates; tests/ is not read', () => {
    const r = loadPolicy('test/fixtures/policies/valid/merged', { globalAllowPrivate: [], agents: ['builder', 'reviewer'] });
    if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
    const p = r.policy;
    expect(p.files).toHaveLength(2);
    expect(p.entryCount).toBe(4);
    expect(p.agents).toEqual(['builder', 'reviewer']);
    expect(decide(p, { host: 'api.example.com', method: 'POST', agent: 'builder' }).verdict).toBe('allow');
    expect(decide(p, { host: 'api.example.com', method: 'POST', agent: 'reviewer' }).verdict).toBe('deny');
    expect(decide(p, { host: 'api.example.com', method: 'DELETE', agent: 'reviewer', port: 8443 }).verdict).toBe('allow');
    expect(decide(p, { host: 'shared.example.com', agent: 'reviewer' }).credentialHeaders).toEqual(['x-api-key']);
  });

  it('near misses of refused wildcards load: registrable domains under multi-label suffixes', () => {
    const p = policyOf('hosts:\n  - host: "*.example.co.uk"\n  - host: "*.allowed.test"\n  - host: "*.github.io"\n');
    expect(decide(p, { host: 'www.example.co.uk' }).verdict).toBe('allow');
    expect(decide(p, { host: 'other.co.uk' }).verdict).toBe('deny');
  });

  it('a missing policy path is an error, not an empty policy', () => {
    const r = loadPolicy('test/fixtures/policies/does-not-exist', AGENTS);
    expect(r.ok).toBe(false);
  });

  it('the example policies load', () => {
    const r = loadPolicy('policies', { globalAllowPrivate: [], agents: ['default'] });
    expect(r.ok).toBe(true);
  });
});

describe('credentials', () => {
  const p = policyOf(`
hosts:
  - host: a.example.com
    credential: { secret: A }
  - host: b.example.com
    credential: { secret: B, type: basic, username: x-access-token }
  - host: c.example.com
    credential: { secret: C, type: header, header: x-api-key }
  - host: d.example.com
    credential: { secret: D, type: query, query: key }
  - host: e.example.com
    credential: { secret: E, header: X-Token, format: "token {secret}", placeholder: "sluice-placeholder-e" }
  - host: f.example.com
    allow:
      - { methods: [GET], credential: { secret: READ_TOKEN } }
      - { methods: [POST] }
    credential: { secret: WRITE_TOKEN }
`);
  const cred = (host: string, method = 'GET') => decide(p, { host, method }).credential;

  it('default is an Authorization Bearer header with a sluice: placeholder', () => {
    expect(cred('a.example.com')).toEqual({ secret: 'A', in: 'header', header: 'Authorization', format: 'Bearer {secret}', query: null, placeholder: 'sluice:A' });
  });
  it('basic builds base64(username:secret)', () => {
    const c = cred('b.example.com');
    expect(c?.format).toBe('Basic {basic:x-access-token}');
    expect(renderCredential(c?.format ?? '', 's3cr$&t')).toBe(`Basic ${Buffer.from('x-access-token:s3cr$&t').toString('base64')}`);
  });
  it('header and query shorthands', () => {
    expect(cred('c.example.com')).toMatchObject({ header: 'x-api-key', format: '{secret}' });
    expect(cred('d.example.com')).toMatchObject({ in: 'query', query: 'key', header: '' });
    expect(renderCredential('{secret}', 'a$1b')).toBe('a$1b');
  });
  it('full form keeps header, format and placeholder', () => {
    expect(cred('e.example.com')).toMatchObject({ header: 'X-Token', format: 'token {secret}', placeholder: 'sluice-placeholder-e' });
  });
  it('a rule credential overrides the entry credential', () => {
    expect(cred('f.example.com', 'GET')?.secret).toBe('READ_TOKEN');
    expect(cred('f.example.com', 'POST')?.secret).toBe('WRITE_TOKEN');
  });
  it('policy.credentials lists every injectable credential', () => {
    expect(p.credentials.map((c) => c.secret).sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'READ_TOKEN', 'WRITE_TOKEN']);
  });
  it('a credential on a CIDR is refused like one on a wildcard', () => {
    expect(problemsOf('hosts:\n  - host: 10.0.0.0/8\n    credential: { secret: X }\n')[0]).toContain('cannot be bound to a wildcard');
  });
  it('near miss: a credential on an exact IP is accepted', () => {
    expect(decide(policyOf('hosts:\n  - host: 10.0.0.5\n    credential: { secret: X }\n'), { host: '10.0.0.5' }).credential?.secret).toBe('X');
  });
});

describe('guard settings', () => {
  it('merge global, entry and rule in that order', () => {
    const p = policyOf(`
guard: { secrets: log, response: annotate }
hosts:
  - host: a.example.com
    guard: { secrets: redact }
    allow:
      - { methods: [POST], guard: { secrets: block } }
      - { methods: [GET] }
`);
    expect(decide(p, { host: 'a.example.com', method: 'POST' }).guard).toMatchObject({ secrets: 'block', response: 'annotate' });
    expect(decide(p, { host: 'a.example.com', method: 'GET' }).guard).toMatchObject({ secrets: 'redact', response: 'annotate' });
    expect(p.guard.secrets).toBe('log');
  });
  it('unknown guard keys are errors', () => {
    expect(problemsOf('guard: { secret: block }\n')[0]).toMatch(/^p\.yaml:1:10: unknown key "secret"/);
  });
});
