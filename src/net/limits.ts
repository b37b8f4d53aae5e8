// Limits against resource exhaustion (THREATS.md 2.11) and frequency anomalies. Pure: no timers, no
// sockets, the clock is injected. Per-key state is bounded: a bucket that has refilled is the same as no
// bucket, so idle keys are swept, and a hard cap evicts the least recently used key after that. Host keys
// come from what the agent asks for, so without the cap an agent could grow this map without limit.

export interface LimitsConfig {
  requestsPerMinutePerAgent?: number;
  requestsPerMinutePerHost?: number;
  bytesPerMinutePerAgent?: number;
  maxConnectionsPerAgent?: number;
  maxTunnelsPerAgent?: number;
}

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number; kind: string };

export interface Limiter {
  admitRequest(agent: string, host: string): Admission;
  addBytes(agent: string, bytes: number): void;
  acquireConnection(agent: string): (() => void) | null;
  acquireTunnel(agent: string): (() => void) | null;
}

/** The `kind` strings a refusal carries (also the label of sluice_rate_limited_total). */
export const LIMIT_KIND = {
  agentRequests: 'agent_requests',
  hostRequests: 'host_requests',
  agentBytes: 'agent_bytes',
  agentConnections: 'agent_connections',
  agentTunnels: 'agent_tunnels',
} as const;

export const MAX_TRACKED_KEYS = 10_000;
const MINUTE_MS = 60_000;

/**
 * A token bucket holding up to `perMinute` tokens, refilled continuously at perMinute/60 s. Tokens may go
 * negative (bytes already sent cannot be refused), which is debt paid back before anything is admitted.
 */
export class RateBuckets {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  readonly #state = new Map<string, { tokens: number; at: number }>();
  constructor(perMinute: number, now: () => number) {
    this.#capacity = perMinute;
    this.#perMs = perMinute / MINUTE_MS;
    this.#now = now;
  }
  /** Tokens available now (capacity for an unknown key). */
  level(key: string): number {
    const s = this.#state.get(key);
    if (!s) return this.#capacity;
    return Math.min(this.#capacity, s.tokens + (this.#now() - s.at) * this.#perMs);
  }
  /** Seconds until the level reaches `needed` tokens. */
  waitSeconds(key: string, needed: number): number {
    return Math.max(0, (needed - this.level(key)) / this.#perMs / 1000);
  }
  take(key: string, amount: number): void {
    // Debt is capped at one minute's budget so a single huge body cannot lock an agent out for hours.
    const tokens = Math.max(-this.#capacity, this.level(key) - amount);
    this.#state.delete(key);
    this.#state.set(key, { tokens, at: this.#now() });
    if (this.#state.size > MAX_TRACKED_KEYS) this.#shrink();
  }
  get size(): number {
    return this.#state.size;
  }
  /** Shrinks to 90% of the cap so the sweep's cost is spread over the next thousand inserts. */
  #shrink(): void {
    const target = Math.floor(MAX_TRACKED_KEYS * 0.9);
    for (const key of this.#state.keys()) {
      if (this.level(key) >= this.#capacity) this.#state.delete(key);
    }
    // Map iteration is insertion order and take() re-inserts, so the first keys are the least recent.
    for (const key of this.#state.keys()) {
      if (this.#state.size <= target) break;
      this.#state.delete(key);
    }
  }
}

/** Concurrent holders per key; the release function works once, however often it is called. */
class Slots {
  readonly #max: number;
  readonly #held = new Map<string, number>();
  constructor(max: number) {
    this.#max = max;
  }
  acquire(key: string): (() => void) | null {
    const n = this.#held.get(key) ?? 0;
    if (n >= this.#max) return null;
    this.#held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left <= 0) this.#held.delete(key);
      else this.#held.set(key, left);
    };
  }
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }
}

const UNLIMITED = (): (() => void) => () => {};

function positive(n: number | undefined): n is number {
  return n !== undefined && Number.isFinite(n) && n > 0;
}

export function createLimiter(config: LimitsConfig, now: () => number = Date.now): Limiter {
  const agentRate = positive(config.requestsPerMinutePerAgent) ? new RateBuckets(config.requestsPerMinutePerAgent, now) : null;
  const hostRate = positive(config.requestsPerMinutePerHost) ? new RateBuckets(config.requestsPerMinutePerHost, now) : null;
  const agentBytes = positive(config.bytesPerMinutePerAgent) ? new RateBuckets(config.bytesPerMinutePerAgent, now) : null;
  const connections = positive(config.maxConnectionsPerAgent) ? new Slots(config.maxConnectionsPerAgent) : null;
  const tunnels = positive(config.maxTunnelsPerAgent) ? new Slots(config.maxTunnelsPerAgent) : null;

  return {
    admitRequest(agent, host) {
      // Every limit is checked before any is charged: a request refused for its host does not also
      // spend the agent's budget.
      if (agentBytes && agentBytes.level(agent) < 0) {
        return { ok: false, retryAfterSeconds: agentBytes.waitSeconds(agent, 0), kind: LIMIT_KIND.agentBytes };
      }
      if (agentRate && agentRate.level(agent) < 1) {
        return { ok: false, retryAfterSeconds: agentRate.waitSeconds(agent, 1), kind: LIMIT_KIND.agentRequests };
      }
      if (hostRate && hostRate.level(host) < 1) {
        return { ok: false, retryAfterSeconds: hostRate.waitSeconds(host, 1), kind: LIMIT_KIND.hostRequests };
      }
      agentRate?.take(agent, 1);
      hostRate?.take(host, 1);
      return { ok: true };
    },
    addBytes(agent, bytes) {
      if (agentBytes && Number.isFinite(bytes) && bytes > 0) agentBytes.take(agent, bytes);
    },
    acquireConnection: (agent) => (connections ? connections.acquire(agent) : UNLIMITED()),
    acquireTunnel: (agent) => (tunnels ? tunnels.acquire(agent) : UNLIMITED()),
  };
}

// ---- Anomaly detection -------------------------------------------------------------------------------

export interface AnomalyConfig {
  /** Hosts an agent has not asked for before, per minute, above which an alert is raised. */
  newHostsPerMinute?: number;
  /** Denied requests per agent per minute above which an alert is raised. */
  deniesPerMinute?: number;
}

export interface AnomalyDetector {
  /** Returns the alert kind ('new_hosts' | 'denies') the first time in a minute a threshold is crossed. */
  observe(agent: string, host: string, decision: string): string | null;
}

export const ALERT_KIND = { newHosts: 'new_hosts', denies: 'denies' } as const;
const MAX_KNOWN_HOSTS_PER_AGENT = 1000;
const MAX_AGENTS = 1000;

interface AgentActivity {
  known: Set<string>;
  newHostTimes: number[];
  denyTimes: number[];
  lastAlert: Map<string, number>;
}

/** Keeps only the events of the last minute; the array never grows past threshold + 1 entries. */
function countInWindow(times: number[], at: number, threshold: number): number {
  times.push(at);
  while (times.length > 0 && (times[0] ?? at) <= at - MINUTE_MS) times.shift();
  while (times.length > threshold + 1) times.shift();
  return times.length;
}

export function createAnomalyDetector(config: AnomalyConfig, now: () => number = Date.now): AnomalyDetector {
  const agents = new Map<string, AgentActivity>();
  const activity = (agent: string): AgentActivity => {
    let a = agents.get(agent);
    if (!a) {
      if (agents.size >= MAX_AGENTS) agents.delete(agents.keys().next().value as string);
      a = { known: new Set(), newHostTimes: [], denyTimes: [], lastAlert: new Map() };
      agents.set(agent, a);
    }
    return a;
  };
  // One alert per kind per agent per minute: an alert storm would drown the log it is meant to stand out in.
  const raise = (a: AgentActivity, kind: string, at: number): string | null => {
    const last = a.lastAlert.get(kind);
    if (last !== undefined && at - last < MINUTE_MS) return null;
    a.lastAlert.set(kind, at);
    return kind;
  };
  return {
    observe(agent, host, decision) {
      const at = now();
      const a = activity(agent);
      let alert: string | null = null;
      if (positive(config.newHostsPerMinute) && !a.known.has(host)) {
        if (a.known.size >= MAX_KNOWN_HOSTS_PER_AGENT) a.known.delete(a.known.values().next().value as string);
        a.known.add(host);
        if (countInWindow(a.newHostTimes, at, config.newHostsPerMinute) > config.newHostsPerMinute) {
          alert = raise(a, ALERT_KIND.newHosts, at);
        }
      }
      if (positive(config.deniesPerMinute) && decision === 'deny') {
        if (countInWindow(a.denyTimes, at, config.deniesPerMinute) > config.deniesPerMinute) {
          alert ??= raise(a, ALERT_KIND.denies, at);
        }
      }
      return alert;
    },
  };
}
