// The vault backend against a local node:http server implementing the documented Vault KV v2 and token
// endpoints (no Vault server can be installed here): GET /v1/{mount}/data/{path}, GET lookup-self,
// POST renew-self, GET /v1/sys/health.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SecretSourceConfig } from '../../../src/config/index.ts';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { createSecretStore, type SecretStore } from '../../../src/secrets/index.ts';
import { captureLogger, eventually, revealed, tempDir } from './support.ts';

interface FakeVault {
  readonly address: string;
  readonly data: Map<string, Record<string, string>>;
  readonly reads: { path: string; token: string | undefined; namespace: string | undefined }[];
  token: string;
  sealed: boolean;
  renewable: boolean;
  /** Resolves on the next renew-self. */
  renewed(): Promise<string | undefined>;
  close(): Promise<void>;
}

const servers: FakeVault[] = [];
const stores: SecretStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startVault(): Promise<FakeVault> {
  const renewWaiters: ((token: string | undefined) => void)[] = [];
  const vault = {} as FakeVault;
  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    req.resume();
    const token = req.headers['x-vault-token'] as string | undefined;
    const url = req.url ?? '';
    if (url === '/v1/sys/health') return send(res, vault.sealed ? 503 : 200, { initialized: true, sealed: vault.sealed });
    if (token !== vault.token) return send(res, 403, { errors: ['permission denied'] });
    if (url === '/v1/auth/token/lookup-self' && req.method === 'GET') return send(res, 200, { data: { renewable: vault.renewable, ttl: 1 } });
    if (url === '/v1/auth/token/renew-self' && req.method === 'POST') {
      for (const w of renewWaiters.splice(0)) w(token);
      return send(res, 200, { auth: { client_token: token, lease_duration: 3600, renewable: true } });
    }
    const m = /^\/v1\/secret\/data\/(.+)$/.exec(url);
    if (m && req.method === 'GET') {
      vault.reads.push({ path: m[1]!, token, namespace: req.headers['x-vault-namespace'] as string | undefined });
      const entry = vault.data.get(m[1]!);
      if (!entry) return send(res, 404, { errors: [] });
      return send(res, 200, { data: { data: entry, metadata: { version: 1 } } });
    }
    return send(res, 404, { errors: [] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(vault, {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    data: new Map(),
    reads: [],
    token: 'hvs.test-token-1',
    sealed: false,
    renewable: false,
    renewed: () => new Promise<string | undefined>((r) => renewWaiters.push(r)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  servers.push(vault);
  return vault;
}

function vaultConfig(v: FakeVault, over: Partial<Extract<SecretSourceConfig, { type: 'vault' }>> = {}): SecretSourceConfig {
  return { type: 'vault', address: v.address, mount: 'secret', path: 'sluice/', field: 'value', tokenEnv: 'VAULT_TOKEN', ttlSeconds: 300, timeoutMs: 2000, ...over };
}

function open(env: NodeJS.ProcessEnv, ...configs: SecretSourceConfig[]): SecretStore {
  const store = createSecretStore(configs, captureLogger().log, { env, pollMs: 100 });
  stores.push(store);
  return store;
}

describe('vault backend (KV v2 protocol double)', () => {
  it('reads data.data[field] with the token and namespace headers, and caches for the TTL', async () => {
    const v = await startVault();
    v.data.set('sluice/GITHUB_TOKEN', { value: 'ghp_from_vault_00000001', other: 'x' });
    const store = open({ VAULT_TOKEN: v.token }, vaultConfig(v, { namespace: 'team-a' }));
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_from_vault_00000001');
    expect(await revealed(store, 'GITHUB_TOKEN')).toBe('ghp_from_vault_00000001');
    expect(v.reads).toEqual([{ path: 'sluice/GITHUB_TOKEN', token: 'hvs.test-token-1', namespace: 'team-a' }]);
    await expect(store.resolve('NOT_IN_VAULT')).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(await store.health()).toEqual([{ kind: 'vault', ok: true }]);
  });

  it('a secret without the field is absent, so the next backend may answer', async () => {
    const v = await startVault();
    v.data.set('sluice/K', { password: 'p' });
    const store = open({ VAULT_TOKEN: v.token, SLUICE_SECRET_K: 'env-fallback-123' }, vaultConfig(v), { type: 'env', prefix: 'SLUICE_SECRET_' });
    expect(await revealed(store, 'K')).toBe('env-fallback-123');
  });

  it('reads the token from a file at each fetch (Vault Agent rewrites it)', async () => {
    const v = await startVault();
    v.data.set('sluice/A', { value: 'value-a-000001' });
    v.data.set('sluice/B', { value: 'value-b-000002' });
    const file = path.join(tempDir('vault-token'), 'token');
    fs.writeFileSync(file, `${v.token}\n`);
    const store = open({}, vaultConfig(v, { tokenFile: file }));
    expect(await revealed(store, 'A')).toBe('value-a-000001');
    v.token = 'hvs.rotated-token-2';
    fs.writeFileSync(file, v.token);
    expect(await revealed(store, 'B')).toBe('value-b-000002');
    expect(v.reads.map((r) => r.token)).toEqual(['hvs.test-token-1', 'hvs.rotated-token-2']);
  });

  it('no token, a refused token, a sealed or stopped server: unavailable, health says so', async () => {
    const v = await startVault();
    v.data.set('sluice/A', { value: 'value-a-000001' });
    await expect(open({}, vaultConfig(v)).resolve('A')).rejects.toBeInstanceOf(SecretUnavailableError);
    await expect(open({ VAULT_TOKEN: 'hvs.wrong' }, vaultConfig(v)).resolve('A')).rejects.toBeInstanceOf(SecretUnavailableError);
    const store = open({ VAULT_TOKEN: v.token }, vaultConfig(v));
    v.sealed = true;
    expect(await store.health()).toEqual([{ kind: 'vault', ok: false }]);
    await v.close();
    await expect(store.resolve('A')).rejects.toBeInstanceOf(SecretUnavailableError);
  });

  it('an outage affects only the secrets the vault would serve', async () => {
    const v = await startVault();
    const dir = tempDir('vault-outage');
    fs.writeFileSync(path.join(dir, 'secrets.env'), 'LOCAL_TOKEN=local-value-00001\n');
    const store = open(
      { VAULT_TOKEN: v.token },
      { type: 'file', path: path.join(dir, 'secrets.env') },
      vaultConfig(v),
    );
    v.data.set('sluice/REMOTE_TOKEN', { value: 'remote-value-0001' });
    expect(await revealed(store, 'REMOTE_TOKEN')).toBe('remote-value-0001');
    await v.close();
    await expect(store.resolve('REMOTE_TOKEN_2')).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(await revealed(store, 'LOCAL_TOKEN')).toBe('local-value-00001');
  });

  it('rotation is picked up when the TTL expires', async () => {
    const v = await startVault();
    v.data.set('sluice/ROT', { value: 'rotation-value-1' });
    const store = open({ VAULT_TOKEN: v.token }, vaultConfig(v, { ttlSeconds: 0.2 }));
    expect(await revealed(store, 'ROT')).toBe('rotation-value-1');
    v.data.set('sluice/ROT', { value: 'rotation-value-2' });
    expect(await eventually(() => revealed(store, 'ROT'), 'rotation-value-2')).toBe('rotation-value-2');
  });

  it('renews a renewable token (lookup-self, then renew-self at half its TTL)', async () => {
    const v = await startVault();
    v.renewable = true;
    v.data.set('sluice/A', { value: 'value-a-000001' });
    const renewed = v.renewed();
    const store = open({ VAULT_TOKEN: v.token }, vaultConfig(v));
    expect(await revealed(store, 'A')).toBe('value-a-000001');
    expect(await renewed).toBe('hvs.test-token-1');
  });
});
