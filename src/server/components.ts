// The parts a running Sluice is made of, built from the config in dependency order.
import type { LoadedConfig } from '../config/index.ts';
import type { Logger } from '../audit/index.ts';
import { createMetrics, type Metrics } from '../audit/metrics.ts';
import { countMints, countFetches } from '../audit/instrument.ts';
import { loadOrCreateCa, createLeafCache, type CertificateAuthority, type LeafCache } from '../tls/index.ts';
import { PolicyStore, secretNames } from '../policy/index.ts';
import { createSecretStore, type SecretStore } from '../secrets/index.ts';
import { createGuard } from '../guard/index.ts';
import type { Guard } from '../guard/types.ts';
import { createUpstream, type Upstream } from '../forward/upstream.ts';
import { createLimiter, createAnomalyDetector, type Limiter } from '../net/limits.ts';

export interface Components {
  readonly ca: CertificateAuthority;
  readonly metrics: Metrics;
  readonly leaves: LeafCache;
  readonly policy: PolicyStore;
  readonly secrets: SecretStore;
  readonly guard: Guard;
  readonly upstream: Upstream;
  readonly limiter: Limiter;
  /** Feed the anomaly detector; raises {"msg":"alert"} lines and the alert metric. */
  readonly observe: (agent: string, host: string, decision: string) => void;
}

export async function createComponents(config: LoadedConfig, log: Logger, watchPolicies: boolean): Promise<Components> {
  const ca = await loadOrCreateCa({ stateDir: config.stateDir, certPath: config.ca.cert, keyPath: config.ca.key, create: true }, log);
  const metrics = createMetrics();
  const leaves = countMints(createLeafCache(ca, { max: config.limits.leafCacheSize }), metrics);
  metrics.setLeafCacheSize(() => leaves.size);
  const agents = config.agents.length > 0 ? config.agents.map((a) => a.id) : ['default'];
  const policy = PolicyStore.open(config.policies, { globalAllowPrivate: config.upstream.allowPrivate, agents }, log, { watch: watchPolicies });
  const secrets = countFetches(createSecretStore(config.secrets, log), metrics);
  await primeSecrets(secrets, policy, log);
  policy.onReload((ok) => {
    metrics.policyReload(ok ? 'ok' : 'failed');
    if (ok) void primeSecrets(secrets, policy, log);
  });
  const guard = createGuard({
    knownSecrets: () => secrets.known(),
    credentials: () => policy.current().credentials,
    isHostAllowed: (host) => policy.current().isHostAllowed(host),
  });
  const upstream = createUpstream({
    trustCa: config.upstream.trustCa,
    connectTimeoutMs: config.limits.upstreamConnectTimeoutMs,
    preconnectMs: config.limits.upstreamPreconnectMs,
    headersTimeoutMs: config.limits.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.limits.upstreamBodyTimeoutMs,
  });
  return { ca, metrics, leaves, policy, secrets, guard, upstream, ...createLimits(config, metrics, log) };
}

function createLimits(config: LoadedConfig, metrics: Metrics, log: Logger): Pick<Components, 'limiter' | 'observe'> {
  const l = config.limits;
  const limiter = createLimiter(
    definedOnly({
      requestsPerMinutePerAgent: l.requestsPerMinutePerAgent,
      requestsPerMinutePerHost: l.requestsPerMinutePerHost,
      bytesPerMinutePerAgent: l.bytesPerMinutePerAgent,
      maxConnectionsPerAgent: l.maxConnectionsPerAgent,
      maxTunnelsPerAgent: l.maxTunnelsPerAgent,
    }),
  );
  const anomalies = createAnomalyDetector(definedOnly({ newHostsPerMinute: l.alertNewHostsPerMinute, deniesPerMinute: l.alertDeniesPerMinute }));
  const observe = (agent: string, host: string, decision: string) => {
    const alert = anomalies.observe(agent, host, decision);
    if (!alert) return;
    metrics.alert(alert);
    log.warn({ alert, agent }, 'alert');
  };
  return { limiter, observe };
}

async function primeSecrets(secrets: SecretStore, policy: PolicyStore, log: Logger): Promise<void> {
  const { missing } = await secrets.prime(secretNames(policy.current()));
  if (missing.length > 0) log.warn({ missing }, 'secrets referenced by the policy are not available; requests that need them get 503');
}

function definedOnly<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

/** Close what was opened when startup fails half-way. */
export async function closeComponents(c: Components): Promise<void> {
  c.policy.close();
  await c.secrets.close();
  await c.upstream.close();
}
