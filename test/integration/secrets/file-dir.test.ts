import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { createSecretStore, type SecretStore } from '../../../src/secrets/index.ts';
import { captureLogger, nextChange, revealed, tempDir } from './support.ts';

const stores: SecretStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function open(...configs: Parameters<typeof createSecretStore>[0]): { store: SecretStore; lines: string[] } {
  const { log, lines } = captureLogger();
  const store = createSecretStore(configs, log, { pollMs: 100, env: { SLUICE_SECRET_FROM_ENV: 'env-value-123456' } });
  stores.push(store);
  return { store, lines };
}

describe('file backend', () => {
  it('serves the dotenv file and picks up an edit and an atomic replace without restart', async () => {
    const dir = tempDir('file');
    const file = path.join(dir, 'secrets.env');
    fs.writeFileSync(file, 'export GITHUB_TOKEN="ghp_first_value_0001"\nOTHER=other-value-1234\n');
    const { store } = open({ type: 'file', path: file });
    expect(await store.prime(['GITHUB_TOKEN', 'OTHER', 'ABSENT'])).toEqual({ missing: ['ABSENT'] });
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_first_value_0001');

    const changed = nextChange(store);
    fs.writeFileSync(file, 'GITHUB_TOKEN=ghp_second_value_00002\nOTHER=other-value-1234\n');
    await changed;
    expect(store.known().find((v) => v.name === 'GITHUB_TOKEN')?.reveal()).toBe('ghp_second_value_00002');
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_second_value_00002');

    // Editors and config managers write a temp file and rename it over the old one.
    const replaced = nextChange(store);
    fs.writeFileSync(`${file}.tmp`, 'GITHUB_TOKEN=ghp_third_value_000003\n');
    fs.renameSync(`${file}.tmp`, file);
    await replaced;
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_third_value_000003');
    await expect(store.resolve('OTHER')).rejects.toBeInstanceOf(SecretUnavailableError);
  });

  it('a malformed edit keeps the last good content serving and is logged by line, without values', async () => {
    const dir = tempDir('file-bad');
    const file = path.join(dir, 'secrets.env');
    fs.writeFileSync(file, 'TOKEN=good-value-1234\n');
    const { store, lines } = open({ type: 'file', path: file });
    expect(await revealed(store, 'TOKEN')).toBe('good-value-1234');
    fs.writeFileSync(file, 'TOKEN=new-value-99999\nthis line is broken leaked-text\n');
    expect(await revealed(store, 'TOKEN')).toBe('good-value-1234');
    expect(lines.some((l) => l.includes(':2: expected NAME=value'))).toBe(true);
    expect(lines.join('')).not.toContain('leaked-text');
    expect(lines.join('')).not.toContain('new-value-99999');
  });

  it('a missing file is an empty backend; an unreadable one is down and does not fall through', async () => {
    const dir = tempDir('file-down');
    const missing = open({ type: 'file', path: path.join(dir, 'nope.env') }, { type: 'env', prefix: 'SLUICE_SECRET_' }).store;
    expect(await revealed(missing, 'FROM_ENV')).toBe('env-value-123456');

    // A directory where the file should be: stat works, read fails (EISDIR): the backend is down.
    fs.mkdirSync(path.join(dir, 'broken.env'));
    const down = open({ type: 'file', path: path.join(dir, 'broken.env') }, { type: 'env', prefix: 'SLUICE_SECRET_' });
    await expect(down.store.resolve('FROM_ENV')).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(await down.store.health()).toEqual([
      { kind: 'file', ok: false },
      { kind: 'env', ok: true },
    ]);

    // Near miss: the env backend first still serves its secret while the file backend is down.
    const envFirst = open({ type: 'env', prefix: 'SLUICE_SECRET_' }, { type: 'file', path: path.join(dir, 'broken.env') });
    expect(await revealed(envFirst.store, 'FROM_ENV')).toBe('env-value-123456');
    await expect(envFirst.store.resolve('IN_FILE')).rejects.toBeInstanceOf(SecretUnavailableError);
  });
});

describe('dir backend', () => {
  it('reads one file per secret (Docker), trimming the trailing newline', async () => {
    const dir = tempDir('dir');
    fs.writeFileSync(path.join(dir, 'API_KEY'), 'key-value-with-newline\n');
    fs.writeFileSync(path.join(dir, 'CRLF_KEY'), 'crlf-value-1234\r\n');
    fs.writeFileSync(path.join(dir, 'INNER'), 'line1\nline2\n');
    const { store } = open({ type: 'dir', path: dir });
    expect(await revealed(store, 'API_KEY')).toBe('key-value-with-newline');
    expect(await revealed(store, 'CRLF_KEY')).toBe('crlf-value-1234');
    expect(await revealed(store, 'INNER')).toBe('line1\nline2');
    await expect(store.resolve('MISSING')).rejects.toBeInstanceOf(SecretUnavailableError);
    // Names that could walk out of the directory or into Kubernetes' bookkeeping are never asked for.
    for (const bad of ['..data', '../etc/passwd', '.hidden', 'a/b']) await expect(store.resolve(bad)).rejects.toBeInstanceOf(SecretUnavailableError);
  });

  it('follows the Kubernetes ..data symlink swap', async () => {
    const dir = tempDir('k8s');
    const writeVersion = (version: string, value: string): void => {
      fs.mkdirSync(path.join(dir, version));
      fs.writeFileSync(path.join(dir, version, 'GITHUB_TOKEN'), `${value}\n`);
    };
    writeVersion('..2024_01_01_00_00_00.1', 'k8s-first-value-1');
    fs.symlinkSync('..2024_01_01_00_00_00.1', path.join(dir, '..data'));
    fs.symlinkSync('..data/GITHUB_TOKEN', path.join(dir, 'GITHUB_TOKEN'));
    const { store } = open({ type: 'dir', path: dir });
    await store.prime(['GITHUB_TOKEN']);
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('k8s-first-value-1');

    // kubelet's atomic writer: new timestamped dir, new symlink, rename over ..data.
    const changed = nextChange(store);
    writeVersion('..2024_01_02_00_00_00.2', 'k8s-second-value-2');
    fs.symlinkSync('..2024_01_02_00_00_00.2', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    fs.rmSync(path.join(dir, '..2024_01_01_00_00_00.1'), { recursive: true });
    await changed;
    expect(store.known().map((v) => v.reveal())).toEqual(['k8s-second-value-2']);
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('k8s-second-value-2');
  });
});
