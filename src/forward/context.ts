// Everything one exchange needs, passed as one object (no module-level singletons, no growing signatures).
import type { LoadedConfig } from '../config/index.ts';
import type { Logger } from '../audit/index.ts';
import type { Metrics } from '../audit/metrics.ts';
import type { Policy } from '../policy/types.ts';
import type { Guard } from '../guard/types.ts';
import type { SecretStore } from '../secrets/index.ts';
import type { Upstream } from './upstream.ts';
import type { Limiter } from '../net/limits.ts';

export interface DialTarget {
  readonly host: string;
  readonly port: number;
  readonly kind: 'name' | 'ipv4' | 'ipv6';
}

export interface ProxyContext {
  /** Random per process: marks Sluice's own Via header so a request looping back to Sluice is refused. */
  readonly instanceId: string;
  readonly config: LoadedConfig;
  readonly log: Logger;
  readonly policy: () => Policy;
  readonly secrets: SecretStore;
  readonly guard: Guard;
  readonly upstream: Upstream;
  readonly metrics: Metrics;
  /** Resolve once, check every answer, return the one address to dial (throws PolicyDeniedError/UpstreamFailedError). */
  readonly dial: (target: DialTarget, allowPrivate: readonly string[]) => Promise<{ address: string; family: 4 | 6 }>;
  /** Rate, byte and concurrency limits per agent and host (429 when exceeded). */
  readonly limiter: Limiter;
  /** Feed the anomaly detector (new hosts, denials); it logs {"msg":"alert"} lines. */
  readonly observe: (agent: string, host: string, decision: string) => void;
  /** Requests and tunnels in flight, for the SIGTERM drain. */
  readonly inflight: { add(): () => void };
}

/** Where a request came from: the listener, and for intercepted requests the CONNECT that opened the tunnel. */
export interface RequestOrigin {
  readonly listener: string;
  /** Agent bound to the listener (`#agent=`), if any. */
  readonly listenerAgent: string | null;
  /** Set for requests inside an intercepted tunnel. */
  readonly tunnel: {
    readonly host: string;
    readonly port: number;
    readonly kind: 'name' | 'ipv4' | 'ipv6';
    readonly agent: string;
  } | null;
}
