// `sluice check`, `sluice explain` and `sluice test` as real processes: exit codes and output.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(NODE, ['bin/sluice.js', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
/** A sluice.yaml in a temp dir; policies given as an absolute path. */
function config(name: string, yaml: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('sluice check', () => {
  it('exits 0 with a summary for the example policies', async () => {
    const r = await sluice('check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: .*10 host entries in 3 policy files \(policies\); secrets: ANTHROPIC_API_KEY, GITHUB_TOKEN, OPENAI_API_KEY\n$/);
  });

  it('exits 1 with file:line:col per problem', async () => {
    const cfg = config('bad', `policies: ${path.join(ROOT, 'test/fixtures/policies/invalid/unknown-key')}\n`);
    const r = await sluice('check', '--config', cfg);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test/fixtures/policies/invalid/unknown-key/policy.yaml:3:5: unknown key "alow" at hosts[0].alow (did you mean "allow"?)\n');
    expect(r.stdout).toBe('');
  });

  it('reports config problems with their place too', async () => {
    const cfg = config('badcfg', 'listen: ["127.0.0.1:3128"]\npolicy: policies\n');
    const r = await sluice('check', '--config', cfg);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/badcfg\.yaml:2:1: unknown key "policy"/);
  });

  it('an explicit --config that does not exist is an error', async () => {
    expect((await sluice('check', '--config', path.join(tmp, 'missing.yaml'))).code).toBe(1);
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await sluice('check', '--strict');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: sluice check');
  });
});

describe('sluice explain', () => {
  it('explains an allowed request with its entry and credential name', async () => {
    const r = await sluice('explain', 'GET', 'https://api.github.com/repos/acme/app');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verdict:    allow\n');
    expect(r.stdout).toContain('entry:      policies/github.yaml:7 (api.github.com)\n');
    expect(r.stdout).toContain('credential: GITHUB_TOKEN (header Authorization: Bearer {secret})\n');
    expect(r.stdout).toContain('guard:      request on, response sanitize, secrets block');
  });

  it('explains a denial (still exit 0) with a reason the agent can act on', async () => {
    const r = await sluice('explain', 'DELETE', 'https://api.github.com/repos/acme/app');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verdict:    deny\n');
    expect(r.stdout).toMatch(/reason: +DELETE https:\/\/api\.github\.com\/repos\/acme\/app is not allowed: policies\/github\.yaml allows only GET,HEAD on \/\*\*; .*Do not retry/);
    expect(r.stdout).toContain('credential: none\n');
  });

  it('--json prints one object, never a secret value', async () => {
    const r = await sluice('explain', '--json', 'POST', 'https://api.anthropic.com/v1/messages');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d).toMatchObject({
      verdict: 'allow',
      mode: 'inspect',
      host: 'api.anthropic.com',
      port: 443,
      entry: { file: 'policies/llm.yaml', line: 4 },
      credential: { secret: 'ANTHROPIC_API_KEY', header: 'x-api-key', placeholder: 'sluice:ANTHROPIC_API_KEY' },
    });
  });

  it('uses the proxy parser: IDN and case are canonicalised, dot segments removed', async () => {
    const r = await sluice('explain', '--json', 'GET', 'https://API.GitHub.com./repos/a/b/../c');
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'allow', host: 'api.github.com', path: '/repos/a/c' });
  });

  it('CONNECT host:port', async () => {
    const r = await sluice('explain', '--json', 'CONNECT', 'pypi.org:22');
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'deny', port: 22 });
  });

  it.each([
    ['missing URL', ['GET']],
    ['malformed URL', ['GET', 'https://a.test%00.github.com/']],
    ['unknown agent', ['--agent', 'nobody', 'GET', 'https://api.github.com/']],
    ['unknown flag', ['--verbose', 'GET', 'https://api.github.com/']],
  ])('usage error (exit 2): %s', async (_name, args) => {
    expect((await sluice('explain', ...args)).code).toBe(2);
  });

  it('with agents configured, --agent selects the agent and is required', async () => {
    const policies = path.join(tmp, 'agent-policies');
    fs.mkdirSync(policies, { recursive: true });
    fs.writeFileSync(path.join(policies, 'p.yaml'), 'hosts:\n  - host: build.example.com\n    agents: [builder]\n');
    const cfg = config('agents', `policies: ${policies}\nagents:\n  - { id: builder, token: builder-token-0123456789 }\n  - { id: reviewer, token: reviewer-token-0123456789 }\n`);
    expect((await sluice('explain', '--config', cfg, 'GET', 'https://build.example.com/')).code).toBe(2);
    const builder = await sluice('explain', '--config', cfg, '--agent', 'builder', '--json', 'GET', 'https://build.example.com/');
    expect(JSON.parse(builder.stdout)).toMatchObject({ verdict: 'allow', agent: 'builder' });
    const reviewer = await sluice('explain', '--config', cfg, '--agent', 'reviewer', '--json', 'GET', 'https://build.example.com/');
    expect(JSON.parse(reviewer.stdout)).toMatchObject({ verdict: 'deny', agent: 'reviewer' });
    expect(reviewer.stdout).not.toContain('token-0123456789');
  });
});

describe('sluice test', () => {
  it('the example fixtures pass', async () => {
    const r = await sluice('test');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(r.stdout).not.toContain('FAIL');
  });

  it('a failing case prints FAIL with its line and exits 1', async () => {
    const fixture = path.join(tmp, 'fail.yaml');
    fs.writeFileSync(
      fixture,
      'cases:\n  - { request: "GET https://api.github.com/user", expect: allow, credential: GITHUB_TOKEN }\n  - { request: "DELETE https://api.github.com/user", expect: allow }\n  - { request: "GET https://api.github.com/user", expect: allow, credential: none }\n',
    );
    const r = await sluice('test', fixture);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^PASS .*fail\.yaml:2 /m);
    expect(r.stdout).toMatch(/^FAIL .*fail\.yaml:3 .*expected allow, got deny: DELETE https:\/\/api\.github\.com\/user is not allowed/m);
    expect(r.stdout).toMatch(/^FAIL .*fail\.yaml:4 .*expected credential none, got GITHUB_TOKEN/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 2 failed');
  });

  it('a broken fixture is reported with its place and exits 1', async () => {
    const fixture = path.join(tmp, 'broken.yaml');
    fs.writeFileSync(fixture, 'cases:\n  - { request: "GET https://api.github.com/user", expect: allowed }\n');
    const r = await sluice('test', fixture);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:2:\d+: cases\[0\]\.expect: /);
  });
});
