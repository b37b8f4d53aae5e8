// No Docker engine runs here, so the image's start is tested by running exactly what it runs: the
// Dockerfile's ENTRYPOINT + CMD and ENV, from the repository root (the image's WORKDIR holds the same files),
// with the image's config whose paths are moved to a temp dir. Then the HEALTHCHECK command itself is run
// against the admin port, and SIGTERM must exit 0.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { finalStage, readDockerfile } from './dockerfile.ts';
import { ROOT, tempDir } from './helpers.ts';

const IMAGE_CONFIG = '/etc/sluice/sluice.yaml';
const final = finalStage(readDockerfile(path.join(ROOT, 'Dockerfile')));
const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT')!.exec!;
const cmd = final.find((i) => i.keyword === 'CMD')!.exec!;
const healthcheck = final.find((i) => i.keyword === 'HEALTHCHECK')!.exec!;

/** ENV a=b c="d e" from the Dockerfile. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of final.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) env[m[1]!] = m[2] ?? m[3]!;
  }
  return env;
}

/** The image's config with every path moved under `dir`, all other keys as shipped. */
function relocatedConfig(dir: string): string {
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, 'deploy/docker/sluice.yaml'), 'utf8'));
  const policies = path.join(dir, 'policies');
  fs.cpSync(path.join(ROOT, 'deploy/docker/policies'), policies, { recursive: true });
  fs.mkdirSync(path.join(dir, 'run'), { mode: 0o750 });
  doc.set('listen', ['127.0.0.1:0', `unix:${path.join(dir, 'run/proxy.sock')}`]);
  doc.set('admin', '127.0.0.1:0');
  doc.set('stateDir', path.join(dir, 'state'));
  doc.set('policies', policies);
  doc.setIn(['secrets', 0, 'path'], path.join(dir, 'secrets'));
  // Guard against a path added to the image config later and not moved here.
  for (const p of absolutePaths(doc.toJS())) expect(p.startsWith(dir), p).toBe(true);
  return doc.toString();
}

function absolutePaths(v: unknown): string[] {
  if (typeof v === 'string') return /^(unix:)?\//.test(v) ? [v.replace(/^unix:/, '')] : [];
  if (Array.isArray(v)) return v.flatMap(absolutePaths);
  if (v && typeof v === 'object') return Object.values(v).flatMap(absolutePaths);
  return [];
}

function waitForLine(child: ChildProcess, msg: string, stderr: () => string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === msg) {
          child.stdout?.off('data', onData);
          resolve(parsed);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sluice exited ${code} before "${msg}": ${stderr()}`)));
  });
}

function runHealthcheck(adminPort: number): number | null {
  const [bin, ...args] = healthcheck;
  expect(bin).toBe('node');
  const patched = args.map((a) => a.replace('127.0.0.1:9090', `127.0.0.1:${adminPort}`));
  return spawnSync(process.execPath, patched, { encoding: 'utf8', timeout: 20_000 }).status;
}

describe("the image's start command", () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let stderr = '';
  let listening: Record<string, unknown>;

  beforeAll(async () => {
    dir = tempDir('sluice-image-');
    const configFile = path.join(dir, 'sluice.yaml');
    fs.writeFileSync(configFile, relocatedConfig(dir));
    expect(entrypoint[0]).toBe('node');
    const args = [...entrypoint.slice(1), ...cmd.map((a) => (a === IMAGE_CONFIG ? configFile : a))];
    child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...imageEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    listening = await waitForLine(child, 'listening', () => stderr);
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs "listening" with the TCP and unix listeners, the admin address and the CA', () => {
    const listeners = listening.listeners as Record<string, string>[];
    expect(listeners.some((l) => /^127\.0\.0\.1:\d+$/.test(l.tcp ?? ''))).toBe(true);
    expect(listeners).toContainEqual({ unix: path.join(dir, 'run/proxy.sock') });
    expect(listening.admin).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(listening.ca).toBe(path.join(dir, 'state/ca.pem'));
    expect(fs.readFileSync(listening.ca as string, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('makes a socket that is not world-writable', () => {
    const mode = fs.statSync(path.join(dir, 'run/proxy.sock')).mode;
    expect(mode & 0o002).toBe(0);
  });

  it("passes the image's HEALTHCHECK, and is ready with the default policy", async () => {
    const port = Number(String(listening.admin).split(':').pop());
    expect(runHealthcheck(port)).toBe(0);
    const ready = await fetch(`http://${String(listening.admin)}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`http://${String(listening.admin)}/metrics`)).text();
    expect(metrics).toContain('sluice_requests_total');
  });

  it('drains and exits 0 on SIGTERM, after which the HEALTHCHECK fails', async () => {
    const port = Number(String(listening.admin).split(':').pop());
    const proc = child!;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(runHealthcheck(port)).toBe(1);
  });
});
