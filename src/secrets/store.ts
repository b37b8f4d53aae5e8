// The ordered list of backends behind one interface. The first backend that has a secret wins; a backend
// that fails before one has answered makes that secret unavailable (503 for the hosts that need it, and
// only those), never "fall through to the next backend", which would let a stale or attacker-writable
// later source answer for a broken primary one.
import type { Logger } from '../audit/index.ts';
import type { SecretSourceConfig } from '../config/schema.ts';
import { SecretUnavailableError } from '../errors.ts';
import { createCommandSource } from './command-source.ts';
import { createDirSource } from './dir-source.ts';
import { createEnvSource } from './env-source.ts';
import { createFileSource } from './file-source.ts';
import { isValidSecretName, MIN_KNOWN_SECRET_LENGTH } from './names.ts';
import { SecretValue, type SecretSource, type SecretStoreOptions } from './types.ts';
import { createVaultSource } from './vault-source.ts';

export interface SecretStore {
  resolve(name: string): Promise<SecretValue>;
  prime(names: readonly string[]): Promise<{ missing: string[] }>;
  known(): readonly SecretValue[];
  health(): Promise<{ kind: string; ok: boolean }[]>;
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

const DEFAULT_POLL_MS = 2_000;
const HEALTH_TIMEOUT_MS = 5_000;

export function createSource(config: SecretSourceConfig, log: Logger, options: SecretStoreOptions = {}): SecretSource {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  switch (config.type) {
    case 'file':
      return createFileSource(config.path, log, pollMs);
    case 'env':
      return createEnvSource(config.prefix, options.env ?? process.env);
    case 'dir':
      return createDirSource(config.path, log, pollMs);
    case 'command':
      return createCommandSource(config, log);
    case 'vault':
      return createVaultSource(config, log, options.env ?? process.env);
  }
}

export function createSecretStore(configs: readonly SecretSourceConfig[], log: Logger, options: SecretStoreOptions = {}): SecretStore {
  return createStoreFromSources(configs.map((c) => createSource(c, log, options)), log, refreshIntervalMs(configs));
}

/** The smallest cache TTL among the backends: known() is refreshed that often so a rotated value is known. */
function refreshIntervalMs(configs: readonly SecretSourceConfig[]): number | null {
  const ttls = configs.flatMap((c) => (c.type === 'command' || c.type === 'vault') && c.ttlSeconds > 0 ? [c.ttlSeconds * 1000] : []);
  return ttls.length === 0 ? null : Math.max(1000, Math.min(...ttls));
}

export function createStoreFromSources(sources: readonly SecretSource[], log: Logger, refreshMs: number | null): SecretStore {
  const values = new Map<string, SecretValue>();
  let snapshot: readonly SecretValue[] = Object.freeze([]);
  let primed: readonly string[] = [];
  const listeners = new Set<() => void>();
  let refreshing: Promise<void> | null = null;
  let refreshAgain = false;
  let closed = false;

  const notify = (): void => {
    for (const l of [...listeners]) {
      try {
        l();
      } catch (e) {
        log.error({ err: (e as Error).name }, 'secrets: change listener threw');
      }
    }
  };

  /** Records a resolved value; true when it replaced a different one (rotation). */
  function remember(name: string, raw: string): { value: SecretValue; rotated: boolean } {
    const candidate = new SecretValue(name, raw);
    const previous = values.get(name);
    if (previous?.equals(candidate)) return { value: previous, rotated: false };
    values.set(name, candidate);
    snapshot = Object.freeze([...values.values()]);
    return { value: candidate, rotated: previous !== undefined };
  }

  async function lookup(name: string): Promise<{ value: SecretValue; rotated: boolean }> {
    if (!isValidSecretName(name)) throw new SecretUnavailableError(name);
    for (const source of sources) {
      let raw: string | undefined;
      try {
        raw = await source.get(name);
      } catch (e) {
        log.warn({ secret: name, source: source.kind, reason: (e as Error).message }, 'secrets: backend failed');
        throw new SecretUnavailableError(name, { cause: e });
      }
      if (raw !== undefined) return remember(name, raw);
    }
    throw new SecretUnavailableError(name);
  }

  function refresh(): void {
    if (closed) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    const names = [...new Set([...primed, ...values.keys()])];
    const before = snapshot;
    refreshing = Promise.all(names.map((n) => lookup(n).catch(() => null)))
      // Only a refresh that changed a known value is news; a duplicate watch event or poll tick is not.
      .then(() => {
        if (snapshot !== before) notify();
      })
      .finally(() => {
        refreshing = null;
        if (refreshAgain) {
          refreshAgain = false;
          refresh();
        }
      });
  }

  const unsubscribe = sources.map((s) => s.onChange?.(refresh) ?? (() => undefined));
  const timer = refreshMs === null ? null : setInterval(refresh, refreshMs);
  timer?.unref();

  return {
    async resolve(name) {
      const { value, rotated } = await lookup(name);
      if (rotated) notify();
      return value;
    },
    async prime(names) {
      primed = [...new Set(names)];
      const results = await Promise.all(primed.map((n) => lookup(n).then((r) => r.value, () => n)));
      const missing = results.filter((r): r is string => typeof r === 'string');
      if (missing.length > 0) log.warn({ secrets: missing }, `secrets: unavailable: ${missing.join(', ')}`);
      const short = results.filter((r): r is SecretValue => r instanceof SecretValue && r.reveal().length < MIN_KNOWN_SECRET_LENGTH);
      if (short.length > 0) {
        log.warn({ secrets: short.map((s) => s.name) }, `secrets: shorter than ${MIN_KNOWN_SECRET_LENGTH} characters, not searched for in traffic`);
      }
      return { missing };
    },
    known: () => snapshot,
    async health() {
      return Promise.all(sources.map(async (s) => ({ kind: s.kind, ok: await withTimeout(s.healthy(), HEALTH_TIMEOUT_MS) })));
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const u of unsubscribe) u();
      listeners.clear();
      await Promise.allSettled(sources.map((s) => s.close()));
    },
  };
}

async function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    t = setTimeout(() => resolve(false), ms);
    t.unref();
  });
  try {
    return await Promise.race([p.catch(() => false), timeout]);
  } finally {
    clearTimeout(t);
  }
}
