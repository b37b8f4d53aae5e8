// Faults in Sluice's own files: CA files unreadable or corrupt, and a full disk under the state dir when the CA
// is created. Goal: a clear error naming the file, exit 1, no half-written CA left behind, and a clean start once
// the fault is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { spawnSluice } from '../helpers/process.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-state-faults-'));
fs.mkdirSync(path.join(dir, 'policies'));
fs.writeFileSync(path.join(dir, 'policies', 'p.yaml'), 'hosts: []\n');

function config(name: string, extra: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ listen: ['127.0.0.1:0'], policies: path.join(dir, 'policies'), secrets: [], ...extra }));
  return file;
}

async function startAndStop(configFile: string): Promise<{ code: number | null; stderr: string; listening: boolean }> {
  const p = spawnSluice(['start', '--config', configFile]);
  const listening = await p.listening;
  if (listening) p.child.kill('SIGTERM');
  return { code: await p.exit(), stderr: p.stderr(), listening: listening !== null };
}

describe('CA files', () => {
  it('a configured CA certificate path that is a directory is refused with its path; exit 1', async () => {
    const certDir = path.join(dir, 'ca-as-dir.pem');
    fs.mkdirSync(certDir);
    fs.writeFileSync(path.join(dir, 'key.pem'), 'not a key');
    const r = await startAndStop(config('dir-ca', { ca: { cert: certDir, key: path.join(dir, 'key.pem') } }));
    expect(r.listening).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ca-as-dir.pem');
  });

  it('a corrupt CA in the state dir is refused, never silently replaced (agents trust the old one)', async () => {
    const state = path.join(dir, 'corrupt-state');
    fs.mkdirSync(state, { mode: 0o700 });
    fs.writeFileSync(path.join(state, 'ca.pem'), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(path.join(state, 'ca-key.pem'), 'garbage', { mode: 0o600 });
    const r = await startAndStop(config('corrupt', { stateDir: state }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ca.pem');
    expect(fs.readFileSync(path.join(state, 'ca-key.pem'), 'utf8')).toBe('garbage');
  });

  it('near miss: a valid state dir starts and exits 0', async () => {
    const r = await startAndStop(config('ok', { stateDir: path.join(dir, 'ok-state') }));
    expect(r.listening).toBe(true);
    expect(r.code).toBe(0);
  });
});

describe('disk full under the state dir', () => {
  const mountPoint = path.join(dir, 'full');
  let mounted = false;
  beforeAll(() => {
    fs.mkdirSync(mountPoint);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch {
      mounted = false;
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
  });

  it('CA creation on a full disk fails with ENOSPC named, leaves no half-written CA, and works once space is back', async (t) => {
    // Needs root and tmpfs (as on the build machines); without them there is no way to fill a disk safely.
    if (!mounted) t.skip();
    fs.writeFileSync(path.join(mountPoint, 'filler'), Buffer.alloc(8 * 1024 - 1));
    const state = path.join(mountPoint, 'state');
    const r = await startAndStop(config('full', { stateDir: state }));
    expect(r.listening).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ENOSPC|no space/i);
    const left = fs.existsSync(state) ? fs.readdirSync(state) : [];
    expect(left.filter((f) => f === 'ca.pem' || f === 'ca-key.pem')).toEqual([]);
    fs.rmSync(path.join(mountPoint, 'filler'));
    const again = await startAndStop(config('full', { stateDir: state }));
    expect(again.listening).toBe(true);
    expect(again.code).toBe(0);
  });
});
