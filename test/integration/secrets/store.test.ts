import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { createSecretStore, findMissingSecrets, type SecretStore } from '../../../src/secrets/index.ts';
import { captureLogger, revealed, tempDir } from './support.ts';

const stores: SecretStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('secret store', () => {
  it('asks backends in order: the first that has a secret wins', async () => {
    const dir = tempDir('store');
    fs.writeFileSync(path.join(dir, 's.env'), 'BOTH=from-file-00001\n');
    const { log } = captureLogger();
    const store = createSecretStore(
      [
        { type: 'file', path: path.join(dir, 's.env') },
        { type: 'env', prefix: 'SLUICE_SECRET_' },
      ],
      log,
      { env: { SLUICE_SECRET_BOTH: 'from-env-000001', SLUICE_SECRET_ONLY_ENV: 'only-env-000001', OTHER_PREFIX_X: 'no' } },
    );
    stores.push(store);
    expect(await revealed(store, 'BOTH')).toBe('from-file-00001');
    expect(await revealed(store, 'ONLY_ENV')).toBe('only-env-000001');
    await expect(store.resolve('X')).rejects.toBeInstanceOf(SecretUnavailableError);
    await expect(store.resolve('OTHER_PREFIX_X')).rejects.toBeInstanceOf(SecretUnavailableError);
  });

  it('prime names the missing and the too-short secrets in the log, never a value; known() lists what it read', async () => {
    const { log, lines } = captureLogger();
    const env = { SLUICE_SECRET_LONG: 'long-enough-value-1', SLUICE_SECRET_TINY: 'tiny7ch' };
    const store = createSecretStore([{ type: 'env', prefix: 'SLUICE_SECRET_' }], log, { env });
    stores.push(store);
    const before = store.known();
    expect(await store.prime(['LONG', 'TINY', 'GONE', 'LONG'])).toEqual({ missing: ['GONE'] });
    expect(store.known().map((v) => v.name).sort()).toEqual(['LONG', 'TINY']);
    expect(store.known()).not.toBe(before);
    // The array identity is stable while nothing changes (the known-secret stage caches on it).
    const snapshot = store.known();
    await store.resolve('LONG');
    expect(store.known()).toBe(snapshot);
    const text = lines.join('');
    expect(text).toContain('GONE');
    expect(text).toMatch(/TINY.*not searched|not searched.*TINY/s);
    expect(text).not.toContain('long-enough-value-1');
    expect(text).not.toContain('tiny7ch');
    const err = await store.resolve('GONE').catch((e: unknown) => e as SecretUnavailableError);
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect((err as SecretUnavailableError).secretName).toBe('GONE');
  });

  it('findMissingSecrets (for sluice check) opens, asks and closes', async () => {
    const { log } = captureLogger();
    const missing = await findMissingSecrets([{ type: 'env', prefix: 'S_' }], ['A', 'B'], log, { env: { S_A: 'value-a-000001' } });
    expect(missing).toEqual(['B']);
  });
});
