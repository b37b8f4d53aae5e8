// Live reload with real files in a temp directory: in-place edits, atomic renames, the Kubernetes ConfigMap
// "..data" symlink swap, corrupt edits (the last good policy keeps serving) and SIGHUP-style reload().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/audit/index.ts';
import { ConfigError } from '../../../src/errors.ts';
import { PolicyStore, type Policy } from '../../../src/policy/index.ts';

const OPTIONS = { globalAllowPrivate: [], agents: ['default'] };
const allowing = (host: string) => `hosts:\n  - host: ${host}\n`;

let dir: string;
let logLines: string[];
const stores: PolicyStore[] = [];

function logger() {
  return createLogger('info', { write: (s: string) => void logLines.push(s) });
}

function open(policyPath: string, watch: { watch?: boolean; fsWatch?: boolean } = {}): PolicyStore {
  const store = PolicyStore.open(policyPath, OPTIONS, logger(), { pollMs: 200, ...watch });
  stores.push(store);
  return store;
}

function allows(p: Policy, host: string): boolean {
  return p.decide({ agent: 'default', host, port: 443, method: 'GET', path: '/', scheme: 'https' }).verdict === 'allow';
}

/** Resolves with the next reload's outcome; fails the test if none happens within 10 s (not a timing assertion). */
function nextReload(store: PolicyStore): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reload happened')), 10_000);
    const off = store.onReload((ok) => {
      clearTimeout(timer);
      off();
      resolve(ok);
    });
  });
}

/** Write a sibling temp file and rename it over the target, as editors and `kubectl cp` do. */
function atomicWrite(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-reload-'));
  logLines = [];
});

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('policy reload', () => {
  it('refuses to start on an invalid policy', () => {
    fs.writeFileSync(path.join(dir, 'p.yaml'), 'hosts:\n  - host: "*.com"\n');
    expect(() => open(dir)).toThrow(ConfigError);
  });

  it('picks up an in-place edit', async () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, allowing('a.example.com'));
    const store = open(dir);
    const before = store.current();
    const reloaded = nextReload(store);
    fs.writeFileSync(file, allowing('b.example.com'));
    expect(await reloaded).toBe(true);
    expect(allows(store.current(), 'b.example.com')).toBe(true);
    expect(allows(store.current(), 'a.example.com')).toBe(false);
    // A request that started under the old policy keeps deciding with it.
    expect(allows(before, 'a.example.com')).toBe(true);
    expect(store.status()).toMatchObject({ ok: true, reloads: { ok: 1, failed: 0 } });
  });

  it('picks up an atomic rename of a single policy file', async () => {
    const file = path.join(dir, 'policy.yaml');
    fs.writeFileSync(file, allowing('a.example.com'));
    const store = open(file);
    const reloaded = nextReload(store);
    atomicWrite(file, allowing('b.example.com'));
    expect(await reloaded).toBe(true);
    expect(allows(store.current(), 'b.example.com')).toBe(true);
  });

  it('picks up a new file added to the directory', async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), allowing('a.example.com'));
    const store = open(dir);
    const reloaded = nextReload(store);
    atomicWrite(path.join(dir, 'b.yaml'), allowing('b.example.com'));
    expect(await reloaded).toBe(true);
    expect(allows(store.current(), 'a.example.com') && allows(store.current(), 'b.example.com')).toBe(true);
  });

  it('follows the Kubernetes ConfigMap "..data" symlink swap', async () => {
    // The kubelet's layout: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>/, swapped by rename.
    fs.mkdirSync(path.join(dir, '..2024_01_01_v1'));
    fs.writeFileSync(path.join(dir, '..2024_01_01_v1', 'policy.yaml'), allowing('a.example.com'));
    fs.symlinkSync('..2024_01_01_v1', path.join(dir, '..data'));
    fs.symlinkSync('..data/policy.yaml', path.join(dir, 'policy.yaml'));
    const store = open(dir);
    expect(allows(store.current(), 'a.example.com')).toBe(true);

    const reloaded = nextReload(store);
    fs.mkdirSync(path.join(dir, '..2024_01_02_v2'));
    fs.writeFileSync(path.join(dir, '..2024_01_02_v2', 'policy.yaml'), allowing('b.example.com'));
    fs.symlinkSync('..2024_01_02_v2', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    fs.rmSync(path.join(dir, '..2024_01_01_v1'), { recursive: true });
    expect(await reloaded).toBe(true);
    expect(allows(store.current(), 'b.example.com')).toBe(true);
    expect(allows(store.current(), 'a.example.com')).toBe(false);
  });

  it('the mtime poll alone notices an edit (no fs.watch)', async () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, allowing('a.example.com'));
    const store = open(dir, { fsWatch: false });
    const reloaded = nextReload(store);
    atomicWrite(file, allowing('b.example.com'));
    expect(await reloaded).toBe(true);
    expect(allows(store.current(), 'b.example.com')).toBe(true);
  });

  it('a corrupt edit keeps the last good policy and reports the problem', async () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, allowing('a.example.com'));
    const store = open(dir);
    const good = store.current();

    let reloaded = nextReload(store);
    atomicWrite(file, 'hosts:\n  - host: b.example.com\n    alow: []\n');
    expect(await reloaded).toBe(false);
    expect(store.current()).toBe(good);
    expect(allows(store.current(), 'a.example.com')).toBe(true);
    const status = store.status();
    expect(status.ok).toBe(false);
    expect(status.reloads.failed).toBe(1);
    expect(status.problems[0]).toMatchObject({ line: 3, col: 5 });
    expect(status.problems[0]?.message).toContain('unknown key "alow"');
    const logged = logLines.map((l) => JSON.parse(l) as { msg: string; problems?: string[] }).find((l) => l.msg.startsWith('policy reload failed'));
    expect(logged?.problems?.[0]).toMatch(/p\.yaml:3:5: unknown key "alow"/);

    reloaded = nextReload(store);
    atomicWrite(file, allowing('c.example.com'));
    expect(await reloaded).toBe(true);
    expect(store.status()).toMatchObject({ ok: true, problems: [] });
    expect(allows(store.current(), 'c.example.com')).toBe(true);
  });

  it('reload() (SIGHUP) reloads on demand, without a watcher', () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, allowing('a.example.com'));
    const store = open(dir, { watch: false });
    fs.writeFileSync(file, allowing('b.example.com'));
    expect(allows(store.current(), 'b.example.com')).toBe(false);
    let notified: boolean | null = null;
    store.onReload((ok) => (notified = ok));
    expect(store.reload()).toBe(true);
    expect(notified).toBe(true);
    expect(allows(store.current(), 'b.example.com')).toBe(true);
  });

  it('decisions never fail while reloads swap the policy', async () => {
    const file = path.join(dir, 'p.yaml');
    fs.writeFileSync(file, allowing('keep.example.com'));
    const store = open(dir, { watch: false });
    let decisions = 0;
    let denied = 0;
    let running = true;
    const loop = new Promise<void>((resolve) => {
      const tick = () => {
        for (let i = 0; i < 100; i++, decisions++) if (!allows(store.current(), 'keep.example.com')) denied++;
        if (running) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    for (let i = 0; i < 20; i++) {
      fs.writeFileSync(file, i % 3 === 2 ? 'hosts: [' : `${allowing('keep.example.com')}  - host: n${i}.example.com\n`);
      store.reload();
      await new Promise((r) => setImmediate(r));
    }
    running = false;
    await loop;
    expect(decisions).toBeGreaterThan(0);
    expect(denied).toBe(0);
  });
});
