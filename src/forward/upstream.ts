// Upstream HTTP through undici. Pools are keyed by (scheme, canonical host, port, checked address), so a socket
// opened for one host and address can never carry a request (and its credential) for another (THREATS 2.4).
// Each pool dials exactly the address the address guard checked: no second DNS lookup (THREATS 2.2).
import tls from 'node:tls';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Pool as UndiciPool, buildConnector as Connector, Dispatcher } from 'undici';
import { Pool, buildConnector, errors as undiciErrors } from '../undici-core.ts';
import { LRUCache } from 'lru-cache';
import { UpstreamFailedError, UpstreamTimeoutError, SluiceError } from '../errors.ts';

export interface UpstreamTarget {
  readonly scheme: 'http' | 'https';
  /** Canonical host: the TLS name verified and the Host header sent. */
  readonly host: string;
  readonly port: number;
  /** The checked address to dial. */
  readonly address: string;
  readonly kind: 'name' | 'ipv4' | 'ipv6';
}

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
  readonly signal?: AbortSignal;
}

export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

export interface UpstreamOptions {
  readonly trustCa: readonly string[];
  readonly connectTimeoutMs: number;
  /** How long a connection opened ahead of a first request waits for it before it is closed; 0: never open one. */
  readonly preconnectMs?: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxPools?: number;
}

export interface Upstream {
  request(target: UpstreamTarget, req: UpstreamRequest): Promise<UpstreamResponse>;
  /**
   * Open a connection to a target that has none yet, for its first request to take: a new intercepted tunnel
   * calls this, so the upstream TLS handshake runs while the agent is still in its handshake with Sluice.
   */
  preconnect(target: UpstreamTarget): void;
  /** The CA list used to verify upstream TLS (also for WebSocket upgrades). */
  readonly ca: readonly string[];
  close(): Promise<void>;
}

export function createUpstream(options: UpstreamOptions): Upstream {
  // Node's default store (bundled roots plus NODE_EXTRA_CA_CERTS), extended by the configured files.
  const ca = [...tls.getCACertificates('default'), ...options.trustCa.map((f) => fs.readFileSync(f, 'utf8'))];
  // One context for every upstream connection: passing `ca` per connection re-parses ~150 roots each time
  // (addCACert was 12% of CPU under load in bench/results/profile-summary.md).
  const secureContext = tls.createSecureContext({ ca, minVersion: 'TLSv1.2' });
  const pools = new LRUCache<string, UndiciPool>({
    max: options.maxPools ?? 512,
    dispose: (pool) => {
      void pool.close().catch(() => undefined);
    },
  });
  const warm = createWarmSockets(options.preconnectMs ?? 0);

  function dialerFor(target: UpstreamTarget): Dial {
    const connector = buildConnector({ secureContext, timeout: options.connectTimeoutMs, rejectUnauthorized: true, ALPNProtocols: ['http/1.1'] } as Connector.BuildOptions);
    // Dial the checked address; verify the certificate against the canonical name (SNI only for names: RFC 6066 §3).
    return (opts, callback) =>
      connector(
        { ...opts, protocol: `${target.scheme}:`, hostname: target.address, servername: target.kind === 'name' ? target.host : '', port: String(target.port) } as Connector.Options,
        callback,
      );
  }

  function poolFor(target: UpstreamTarget): UndiciPool {
    const key = poolKey(target);
    let pool = pools.get(key);
    if (pool) return pool;
    const dial = dialerFor(target);
    const origin = `${target.scheme}://${target.kind === 'ipv6' ? `[${target.host}]` : target.host}:${target.port}`;
    pool = new Pool(origin, {
      connections: 64,
      pipelining: 1,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      connect: (opts, callback) => warm.take(key, (socket) => (socket ? callback(null, socket) : dial(opts as Connector.Options, callback))),
    });
    pools.set(key, pool);
    return pool;
  }

  return {
    ca,
    preconnect(target) {
      const pool = poolFor(target);
      if (pool.stats.connected > 0) return;
      const dial = dialerFor(target);
      warm.open(poolKey(target), (done) => dial({} as Connector.Options, (err, socket) => done(err ? null : (socket as Socket))));
    },
    async request(target, req) {
      const pool = poolFor(target);
      try {
        const res = await pool.request({
          method: req.method as Dispatcher.HttpMethod,
          path: req.path,
          headers: req.headers,
          body: req.body,
          signal: req.signal ?? null,
          // undici's dispatcher never follows redirects unless a redirect interceptor is composed in, and Sluice
          // composes none: a redirect is the agent's next request, decided on its own (THREATS 2.6).
        } as Dispatcher.RequestOptions);
        return { statusCode: res.statusCode, headers: res.headers, body: res.body };
      } catch (e) {
        throw upstreamError(e);
      }
    },
    async close() {
      warm.closeAll();
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
    },
  };
}

type Dial = (opts: Connector.Options, callback: Connector.Callback) => void;

function poolKey(target: UpstreamTarget): string {
  return `${target.scheme}|${target.host}|${target.port}|${target.address}`;
}

/** At most this many connections opened ahead at once: a client opening CONNECTs in a loop cannot pile up sockets. */
const MAX_WARM_SOCKETS = 64;

interface WarmSockets {
  /** Start a connection for `key` unless one is already waiting; a failed one is simply not there. */
  open(key: string, dial: (done: (socket: Socket | null) => void) => void): void;
  /** Hand the waiting connection for `key` (once it is up, if still open) or null to `use`, exactly once. */
  take(key: string, use: (socket: Socket | null) => void): void;
  closeAll(): void;
}

function createWarmSockets(idleMs: number): WarmSockets {
  const waiting = new Map<string, { socket: Promise<Socket | null>; timer: NodeJS.Timeout }>();
  const discard = (socket: Promise<Socket | null>) => void socket.then((s) => s?.destroy());
  return {
    open(key, dial) {
      if (idleMs <= 0 || waiting.has(key) || waiting.size >= MAX_WARM_SOCKETS) return;
      const socket = new Promise<Socket | null>((resolve) => dial(resolve));
      const timer = setTimeout(() => {
        waiting.delete(key);
        discard(socket);
      }, idleMs).unref();
      waiting.set(key, { socket, timer });
    },
    take(key, use) {
      const entry = waiting.get(key);
      if (!entry) return use(null);
      waiting.delete(key);
      clearTimeout(entry.timer);
      void entry.socket.then((s) => {
        // The server may have closed it while it waited: then the request dials as if there were none.
        if (s && !s.destroyed && s.readyState === 'open') return use(s);
        s?.destroy();
        use(null);
      });
    },
    closeAll() {
      for (const entry of waiting.values()) {
        clearTimeout(entry.timer);
        discard(entry.socket);
      }
      waiting.clear();
    },
  };
}

/** Map undici/socket errors to the contract's 502/504 without leaking internals. */
export function upstreamError(e: unknown): SluiceError {
  if (e instanceof SluiceError) return e;
  if (e instanceof undiciErrors.ConnectTimeoutError) return new UpstreamTimeoutError('The upstream server did not accept the connection in time.', { cause: e });
  if (e instanceof undiciErrors.HeadersTimeoutError) return new UpstreamTimeoutError('The upstream server did not send response headers in time.', { cause: e });
  if (e instanceof undiciErrors.BodyTimeoutError) return new UpstreamTimeoutError('The upstream server stalled while sending the body.', { cause: e });
  const code = (e as { code?: string }).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME|ALTNAME/i.test(code)) {
    return new UpstreamFailedError('The upstream server failed TLS verification; Sluice will not send anything to it.', { cause: e });
  }
  if (code === 'ECONNREFUSED') return new UpstreamFailedError('The upstream server refused the connection.', { cause: e });
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return new UpstreamFailedError('The upstream server closed the connection unexpectedly.', { cause: e });
  return new UpstreamFailedError(undefined, { cause: e });
}
