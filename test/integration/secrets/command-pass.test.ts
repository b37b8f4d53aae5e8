// The command backend against the real `pass` and `gpg` from Debian, with a throwaway GNUPGHOME and store.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SecretSourceConfig } from '../../../src/config/index.ts';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { createSecretStore, type SecretStore } from '../../../src/secrets/index.ts';
import { captureLogger, eventually, nextChange, revealed, tempDir } from './support.ts';

const run = promisify(execFile);
let gnupgHome = '';
let storeDir = '';
let env: NodeJS.ProcessEnv = {};
const stores: SecretStore[] = [];

async function passInsert(name: string, value: string): Promise<void> {
  const child = execFile('pass', ['insert', '-m', '-f', name], { env });
  child.stdin?.end(`${value}\n`);
  await new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pass insert exited ${code}`)))));
}

function passCommand(ttlSeconds: number, timeoutMs = 10_000): SecretSourceConfig {
  return {
    type: 'command',
    command: ['env', `GNUPGHOME=${gnupgHome}`, `PASSWORD_STORE_DIR=${storeDir}`, 'pass', 'show', 'sluice/{name}'],
    timeoutMs,
    ttlSeconds,
  };
}

function open(...configs: SecretSourceConfig[]): { store: SecretStore; lines: string[] } {
  const { log, lines } = captureLogger();
  const store = createSecretStore(configs, log, { env: {} });
  stores.push(store);
  return { store, lines };
}

beforeAll(async () => {
  const root = tempDir('pass');
  gnupgHome = path.join(root, 'gnupg');
  storeDir = path.join(root, 'store');
  fs.mkdirSync(gnupgHome, { mode: 0o700 });
  env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir };
  await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Sluice Test <test@sluice.invalid>', 'default', 'default', 'never'], { env });
  const listing = (await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env })).stdout;
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fpr) throw new Error('gpg did not create a key');
  await run('pass', ['init', fpr], { env });
  await passInsert('sluice/GITHUB_TOKEN', 'ghp_from_pass_0000000001');
}, 120_000);

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(() => {
  if (gnupgHome) execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env });
});

describe('command backend with pass', () => {
  it('reads a value decrypted by pass (trailing newline removed)', async () => {
    const { store } = open(passCommand(300));
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_from_pass_0000000001');
    expect(await store.health()).toEqual([{ kind: 'command', ok: true }]);
  });

  it('a name pass does not know (non-zero exit) is unavailable, and logs no stderr', async () => {
    const { store, lines } = open(passCommand(300));
    await expect(store.resolve('NOT_THERE')).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(lines.join('')).toContain('exited with 1');
    expect(lines.join('')).not.toContain('is not in the password store');
  });

  it('caches for the TTL, and a rotation in pass is picked up when the TTL expires', async () => {
    await passInsert('sluice/ROTATING', 'rotating-value-00001');
    const cached = open(passCommand(300)).store;
    const expiring = open(passCommand(0.3)).store;
    await cached.prime(['ROTATING']);
    await expiring.prime(['ROTATING']);
    await passInsert('sluice/ROTATING', 'rotating-value-00002');
    // Within its TTL the first store answers from its cache without running pass again.
    expect(await revealed(cached, 'ROTATING')).toBe('rotating-value-00001');
    const changed = nextChange(expiring);
    expect(await eventually(() => revealed(expiring, 'ROTATING'), 'rotating-value-00002')).toBe('rotating-value-00002');
    await changed;
    expect(expiring.known().map((v) => v.reveal())).toEqual(['rotating-value-00002']);
  });

  it('a command that hangs is killed at the timeout: unavailable, backend unhealthy', async () => {
    const { store } = open({ type: 'command', command: ['sleep', '30'], timeoutMs: 200, ttlSeconds: 300 });
    await expect(store.resolve('ANY')).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(await store.health()).toEqual([{ kind: 'command', ok: false }]);
  });

  it('substitutes {name} as one argv element, never through a shell', async () => {
    const dir = tempDir('argv');
    const marker = path.join(dir, 'pwned');
    const { store } = open({ type: 'command', command: ['printf', '%s', 'v-{name}'], timeoutMs: 5000, ttlSeconds: 0 });
    expect(await revealed(store, 'PLAIN_NAME')).toBe('v-PLAIN_NAME');
    // Names with shell syntax are refused before any command runs.
    await expect(store.resolve(`x;touch ${marker}`)).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
