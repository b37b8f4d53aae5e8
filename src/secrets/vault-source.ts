// `type: vault`: HashiCorp Vault / OpenBao KV version 2 over HTTP.
//   GET  {address}/v1/{mount}/data/{path}{name}   -> { data: { data: { [field]: value }, metadata } }, 404 = absent
//   GET  /v1/auth/token/lookup-self               -> { data: { renewable, ttl } }
//   POST /v1/auth/token/renew-self                -> { auth: { lease_duration, renewable } }
//   GET  /v1/sys/health                           -> 200 active, 429 standby, 472 DR secondary, 473 perf standby
// The token is read from tokenFile at every fetch (Vault Agent rewrites it) or from the environment, and is
// renewed at half its TTL while the lookup says it is renewable. Answers are cached for ttlSeconds.
import fs from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { Agent } from '../undici-core.ts';
import type { Logger } from '../audit/index.ts';
import { createTtlCache } from './ttl-cache.ts';
import { SecretSourceError, type SecretSource } from './types.ts';
import { createChangeListeners } from './listeners.ts';

export interface VaultSourceConfig {
  readonly address: string;
  readonly mount: string;
  readonly path: string;
  readonly field: string;
  readonly namespace?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly tokenEnv: string;
  readonly ttlSeconds: number;
  readonly timeoutMs: number;
  readonly caFile?: string | undefined;
}

const HEALTHY_STATUSES = new Set([200, 429, 472, 473]);
const RENEW_RETRY_MS = 5_000;

export function createVaultSource(config: VaultSourceConfig, log: Logger, env: NodeJS.ProcessEnv): SecretSource {
  const listeners = createChangeListeners();
  const base = config.address.replace(/\/+$/, '');
  const prefix = config.path === '' || config.path.endsWith('/') ? config.path : `${config.path}/`;
  const mount = config.mount.replace(/^\/+|\/+$/g, '');
  let dispatcher: Promise<Dispatcher> | null = null;
  let renewFor: string | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let closed = false;

  const getDispatcher = (): Promise<Dispatcher> =>
    (dispatcher ??= (async () => {
      const ca = config.caFile === undefined ? undefined : await fs.readFile(config.caFile, 'utf8');
      return new Agent({ connect: ca === undefined ? {} : { ca }, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
    })());

  async function token(): Promise<string> {
    const raw = config.tokenFile !== undefined ? await fs.readFile(config.tokenFile, 'utf8').catch(() => '') : (env[config.tokenEnv] ?? '');
    const t = raw.trim();
    if (t === '') throw new SecretSourceError('vault', `no token (${config.tokenFile ?? `$${config.tokenEnv}`})`);
    return t;
  }

  async function call(method: 'GET' | 'POST', path: string, tok: string | null): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = {};
    if (tok !== null) headers['x-vault-token'] = tok;
    if (config.namespace !== undefined) headers['x-vault-namespace'] = config.namespace;
    if (method === 'POST') headers['content-type'] = 'application/json';
    try {
      const url = new URL(`${base}${path}`);
      const res = await (await getDispatcher()).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        signal: AbortSignal.timeout(config.timeoutMs),
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      const text = await res.body.text();
      let json: unknown = null;
      try {
        json = text === '' ? null : JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: res.statusCode, json };
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `timed out after ${config.timeoutMs} ms` : ((e as NodeJS.ErrnoException).code ?? 'request failed');
      throw new SecretSourceError('vault', `${method} ${path}: ${why}`);
    }
  }

  async function fetchSecret(name: string): Promise<string | undefined> {
    const tok = await token();
    watchRenewal(tok);
    const path = `/v1/${mount}/data/${prefix}${name}`;
    const { status, json } = await call('GET', path, tok);
    if (status === 404) return undefined;
    if (status !== 200) throw new SecretSourceError('vault', `GET ${path}: HTTP ${status}`);
    const value = field(field(field(json, 'data'), 'data'), config.field);
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** Looks the token up once per token value and keeps renewing it while Vault says it is renewable. */
  function watchRenewal(tok: string): void {
    if (renewFor === tok || closed) return;
    renewFor = tok;
    if (renewTimer) clearTimeout(renewTimer);
    call('GET', '/v1/auth/token/lookup-self', tok)
      .then(({ status, json }) => {
        const data = field(json, 'data');
        const ttl = field(data, 'ttl');
        if (status === 200 && field(data, 'renewable') === true && typeof ttl === 'number' && ttl > 0) scheduleRenewal(tok, ttl);
      })
      .catch(() => log.warn({ address: base }, 'secrets: vault token lookup failed'));
  }

  function scheduleRenewal(tok: string, ttlSeconds: number, delayMs = Math.max(500, (ttlSeconds * 1000) / 2)): void {
    if (closed || renewFor !== tok) return;
    if (renewTimer) clearTimeout(renewTimer);
    renewTimer = setTimeout(() => void renew(tok), delayMs);
    renewTimer.unref();
  }

  async function renew(tok: string): Promise<void> {
    try {
      const { status, json } = await call('POST', '/v1/auth/token/renew-self', tok);
      const auth = field(json, 'auth');
      const lease = field(auth, 'lease_duration');
      if (status !== 200) throw new SecretSourceError('vault', `renew-self: HTTP ${status}`);
      log.info({ address: base }, 'secrets: vault token renewed');
      if (field(auth, 'renewable') !== false && typeof lease === 'number' && lease > 0) scheduleRenewal(tok, lease);
    } catch {
      log.warn({ address: base }, 'secrets: vault token renewal failed; retrying');
      scheduleRenewal(tok, 0, RENEW_RETRY_MS);
    }
  }

  const cache = createTtlCache(config.ttlSeconds * 1000, fetchSecret, () => {
    listeners.notify();
  });

  return {
    kind: 'vault',
    get: (name) => cache.get(name),
    async healthy() {
      try {
        return HEALTHY_STATUSES.has((await call('GET', '/v1/sys/health', null)).status);
      } catch {
        return false;
      }
    },
    onChange: (listener) => listeners.add(listener),
    async close() {
      closed = true;
      if (renewTimer) clearTimeout(renewTimer);
      cache.clear();
      listeners.clear();
      if (dispatcher) await (await dispatcher).close();
    },
  };
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}
