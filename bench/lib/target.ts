// What the runner and the load client need to know about one target.

export interface Target {
  readonly id: string;
  readonly label: string;
  /** direct: no proxy; tunnel: blind CONNECT; intercept: TLS terminated by the proxy with the bench CA. */
  readonly mode: 'direct' | 'tunnel' | 'intercept';
  /** http://127.0.0.1:PORT, or null for direct. */
  readonly proxy: string | null;
  /** The proxy process sampled for CPU (with its descendants) and peak RSS; null for direct. */
  readonly pid: number | null;
  /** Headers the agent sends (the credential placeholder for the Sluice target that injects). */
  readonly headers: Readonly<Record<string, string>>;
  readonly note: string;
}

/** A target that could not be installed or configured, shown in the table with the reason. */
export interface SkippedTarget {
  readonly id: string;
  readonly label: string;
  readonly reason: string;
}
