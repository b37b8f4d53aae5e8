// `sluice placeholders` as a real process: the env lines an operator gives the agent, and no values.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE, ['bin/sluice.js', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

function setup(policy: string): string {
  const dir = tempDir('placeholders');
  fs.mkdirSync(path.join(dir, 'policies'));
  fs.writeFileSync(path.join(dir, 'policies', 'hosts.yaml'), policy);
  fs.writeFileSync(path.join(dir, 'secrets.env'), 'GITHUB_TOKEN=ghp_never_printed_000001\n');
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), 'policies: policies\nsecrets:\n  - { type: file, path: secrets.env }\n');
  return path.join(dir, 'sluice.yaml');
}

describe('sluice placeholders', () => {
  it('prints NAME=placeholder for every credential, sorted, once per secret', async () => {
    const config = setup(`
hosts:
  - host: api.github.com
    credential: { secret: GITHUB_TOKEN }
  - host: uploads.github.com
    credential: { secret: GITHUB_TOKEN }
  - host: api.openai.com
    credential: { secret: OPENAI_API_KEY, placeholder: sk-sluice-placeholder }
  - host: gitlab.example.com
    credential: { secret: GITLAB_TOKEN, type: header, header: private-token }
  - host: public.example.com
`);
    const r = await sluice('placeholders', '--config', config);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('GITHUB_TOKEN=sluice:GITHUB_TOKEN\nGITLAB_TOKEN=sluice:GITLAB_TOKEN\nOPENAI_API_KEY=sk-sluice-placeholder\n');
    expect(r.stdout).not.toContain('ghp_never_printed');
  });

  it('says so when no credential is configured, and fails on a broken policy with file:line:col', async () => {
    const empty = await sluice('placeholders', '--config', setup('hosts:\n  - host: example.com\n'));
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('no credentials');
    const broken = await sluice('placeholders', '--config', setup('hosts:\n  - host: example.com\n    credential: { secret: "bad name" }\n'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/hosts\.yaml:3:\d+: /);
  });

  it('rejects unknown flags with usage (exit 2)', async () => {
    const r = await sluice('placeholders', '--nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: sluice placeholders');
  });
});
