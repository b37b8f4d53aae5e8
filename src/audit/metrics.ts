// Prometheus metrics for one Sluice. Each Sluice owns its Registry (never prom-client's global one), so two
// Sluices in one process keep separate counts. Every label value is bounded: an agent controls the hosts it
// asks for, so a raw-host label would let it grow the registry (and every scrape) without limit. Hosts are
// labelled by the policy pattern that matched them, or 'denied', and any label set is capped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExchangeRecord } from './record.ts';

export interface ExchangeTimings {
  decisionMs?: number;
  upstreamMs?: number;
  guardMs?: number;
}

export interface Metrics {
  readonly registry: Registry;
  recordExchange(r: ExchangeRecord, timings?: ExchangeTimings): void;
  connectionOpened(): void;
  connectionClosed(): void;
  tunnelOpened(mode: 'inspect' | 'tunnel'): void;
  tunnelClosed(mode: 'inspect' | 'tunnel'): void;
  leafMinted(): void;
  setLeafCacheSize(fn: () => number): void;
  policyReload(result: 'ok' | 'failed'): void;
  secretFetch(backend: string, result: 'ok' | 'missing' | 'error'): void;
  rateLimited(kind: string): void;
  alert(kind: string): void;
}

/** Distinct values one label may take before further values collapse into OTHER_LABEL. */
export const MAX_LABEL_VALUES = 200;
export const OTHER_LABEL = 'other';
export const DENIED_HOST_LABEL = 'denied';
export const UNMATCHED_HOST_LABEL = 'unmatched';
const MAX_LABEL_LENGTH = 128;

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const FAST_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Keeps at most `max` distinct values per label; later ones become 'other'. */
class LabelBound {
  readonly #seen = new Set<string>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  value(raw: string): string {
    const v = raw.length > MAX_LABEL_LENGTH ? raw.slice(0, MAX_LABEL_LENGTH) : raw;
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#max) return OTHER_LABEL;
    this.#seen.add(v);
    return v;
  }
}

/**
 * The host label for an exchange: the matched policy pattern (bounded by the policy's size), never the
 * requested name. Denied requests share one label whatever host the agent tried.
 */
export function hostLabel(r: Pick<ExchangeRecord, 'decision' | 'rule'> & { hostPattern?: string | null }): string {
  if (r.decision === 'deny') return DENIED_HOST_LABEL;
  // The entry's pattern ("*.github.com") reads best; the rule reference ("policies/gh.yaml:3") is as bounded.
  if (typeof r.hostPattern === 'string' && r.hostPattern.length > 0) return r.hostPattern;
  // Policies are one directory of files, so "file.yaml:line" is unique; the directory would only put the
  // operator's filesystem layout on the scrape.
  if (typeof r.rule === 'string' && r.rule.length > 0) return r.rule.slice(r.rule.replace(/:\d+$/, '').search(/[^/\\]*$/));
  return UNMATCHED_HOST_LABEL;
}

function buildFamilies(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'sluice_requests_total',
      help: 'Exchanges by decision, host (matched policy pattern, or "denied") and status.',
      labelNames: ['decision', 'host', 'status'] as const,
      registers,
    }),
    bytesIn: new Counter({ name: 'sluice_bytes_in_total', help: 'Bytes received from agents (request bodies), by host.', labelNames: ['host'] as const, registers }),
    bytesOut: new Counter({ name: 'sluice_bytes_out_total', help: 'Bytes sent to agents (response bodies), by host.', labelNames: ['host'] as const, registers }),
    duration: new Histogram({ name: 'sluice_request_duration_seconds', help: 'Whole exchange duration, by decision.', labelNames: ['decision'] as const, buckets: LATENCY_BUCKETS, registers }),
    decision: new Histogram({ name: 'sluice_decision_duration_seconds', help: 'Time spent deciding policy for one request.', buckets: FAST_BUCKETS, registers }),
    upstream: new Histogram({ name: 'sluice_upstream_duration_seconds', help: 'Time from dialling the upstream to its response headers.', buckets: LATENCY_BUCKETS, registers }),
    guard: new Histogram({ name: 'sluice_guard_duration_seconds', help: 'Time the guard spent scanning one exchange.', buckets: FAST_BUCKETS, registers }),
    findings: new Counter({ name: 'sluice_guard_findings_total', help: 'Guard findings by rule and action.', labelNames: ['rule', 'action'] as const, registers }),
    connections: new Gauge({ name: 'sluice_open_connections', help: 'Agent connections currently open.', registers }),
    connectionsTotal: new Counter({ name: 'sluice_connections_total', help: 'Agent connections accepted.', registers }),
    tunnels: new Gauge({ name: 'sluice_open_tunnels', help: 'CONNECT tunnels currently open, by mode.', labelNames: ['mode'] as const, registers }),
    tunnelsTotal: new Counter({ name: 'sluice_tunnels_total', help: 'CONNECT tunnels opened, by mode.', labelNames: ['mode'] as const, registers }),
    leafMints: new Counter({ name: 'sluice_leaf_certificates_minted_total', help: 'Leaf certificates minted from the CA.', registers }),
    reloads: new Counter({ name: 'sluice_policy_reloads_total', help: 'Policy reloads by result.', labelNames: ['result'] as const, registers }),
    secretFetches: new Counter({ name: 'sluice_secret_fetches_total', help: 'Secret fetches by backend and result (never the secret).', labelNames: ['backend', 'result'] as const, registers }),
    rateLimited: new Counter({ name: 'sluice_rate_limited_total', help: 'Requests, connections or tunnels refused by a limit, by kind.', labelNames: ['kind'] as const, registers }),
    alerts: new Counter({ name: 'sluice_alerts_total', help: 'Anomaly alerts raised, by kind.', labelNames: ['kind'] as const, registers }),
  };
}

type Families = ReturnType<typeof buildFamilies>;

function observeMs(h: Histogram<string>, ms: number | undefined): void {
  if (ms !== undefined && Number.isFinite(ms) && ms >= 0) h.observe(ms / 1000);
}

function recordExchange(f: Families, bounds: Bounds, r: ExchangeRecord, t: ExchangeTimings): void {
  const host = bounds.host.value(hostLabel(r));
  f.requests.inc({ decision: r.decision, host, status: String(r.status) });
  if (r.bytesIn > 0) f.bytesIn.inc({ host }, r.bytesIn);
  if (r.bytesOut > 0) f.bytesOut.inc({ host }, r.bytesOut);
  if (Number.isFinite(r.durationMs) && r.durationMs >= 0) f.duration.observe({ decision: r.decision }, r.durationMs / 1000);
  observeMs(f.decision, t.decisionMs);
  observeMs(f.upstream, t.upstreamMs);
  observeMs(f.guard, t.guardMs);
  for (const finding of r.findings) {
    f.findings.inc({ rule: bounds.rule.value(finding.rule), action: finding.action });
  }
}

interface Bounds {
  host: LabelBound;
  rule: LabelBound;
  kind: LabelBound;
  backend: LabelBound;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const f = buildFamilies(registry);
  const bounds: Bounds = {
    host: new LabelBound(MAX_LABEL_VALUES),
    rule: new LabelBound(MAX_LABEL_VALUES),
    kind: new LabelBound(50),
    backend: new LabelBound(20),
  };
  // Gauges start at zero so the families show in the first scrape, before any tunnel opened.
  f.connections.set(0);
  for (const mode of ['inspect', 'tunnel'] as const) f.tunnels.set({ mode }, 0);
  let leafCacheSize: (() => number) | null = null;
  new Gauge({
    name: 'sluice_leaf_cache_size',
    help: 'Leaf certificates currently cached.',
    registers: [registry],
    collect() {
      this.set(leafCacheSize ? leafCacheSize() : 0);
    },
  });
  return {
    registry,
    recordExchange: (r, timings) => recordExchange(f, bounds, r, timings ?? {}),
    connectionOpened: () => {
      f.connections.inc();
      f.connectionsTotal.inc();
    },
    connectionClosed: () => f.connections.dec(),
    tunnelOpened: (mode) => {
      f.tunnels.inc({ mode });
      f.tunnelsTotal.inc({ mode });
    },
    tunnelClosed: (mode) => f.tunnels.dec({ mode }),
    leafMinted: () => f.leafMints.inc(),
    setLeafCacheSize: (fn) => {
      leafCacheSize = fn;
    },
    policyReload: (result) => f.reloads.inc({ result }),
    secretFetch: (backend, result) => f.secretFetches.inc({ backend: bounds.backend.value(backend), result }),
    rateLimited: (kind) => f.rateLimited.inc({ kind: bounds.kind.value(kind) }),
    alert: (kind) => f.alerts.inc({ kind: bounds.kind.value(kind) }),
  };
}
