// Bounded cache of TLS contexts for intercepted hosts, one mint per host however many connections race.
import tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { CertificateAuthority } from './ca.ts';
import { assertLeafHost, createLeafMinter, type LeafMinter } from './mint.ts';

export interface LeafCache {
  /** `host` must be canonical (lower-case name or IP literal) and already allowed by policy. */
  contextFor(host: string): Promise<tls.SecureContext>;
  readonly size: number;
  /** How many leaves were minted (a cache hit or a joined in-flight mint does not count). */
  readonly mints: number;
}

/**
 * Contexts are re-minted after a day so a long-running Sluice never serves a leaf near its notAfter
 * (leaves live about 30 days).
 */
const CONTEXT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The cache is keyed by host and bounded by `max` (an unbounded cache keyed by what a client sends is a
 * memory exhaustion bug). It stores the pending promise, so concurrent first requests for one host join
 * the same mint; a failed mint is dropped so the next request tries again. Callers only ask for hosts that
 * policy allowed, so a client cannot churn the cache with names of its choosing.
 */
export function createLeafCache(ca: CertificateAuthority, options: { max: number }): LeafCache {
  const contexts = new LRUCache<string, Promise<tls.SecureContext>>({ max: options.max, ttl: CONTEXT_TTL_MS });
  let minter: Promise<LeafMinter> | null = null;
  let mints = 0;

  const getMinter = (): Promise<LeafMinter> => {
    if (minter === null) {
      const pending = createLeafMinter(ca);
      minter = pending;
      pending.catch(() => {
        if (minter === pending) minter = null;
      });
    }
    return minter;
  };

  const mint = async (host: string): Promise<tls.SecureContext> => {
    const leaf = await (await getMinter()).mintLeafCertificate(host);
    // The chain includes the CA so clients that trust it only as an anchor still build the path.
    return tls.createSecureContext({ key: leaf.keyPem, cert: leaf.certPem + ca.certPem, minVersion: 'TLSv1.2' });
  };

  return {
    contextFor(host: string): Promise<tls.SecureContext> {
      const cached = contexts.get(host);
      if (cached) return cached;
      try {
        assertLeafHost(host);
      } catch (e) {
        // Rejected, not thrown: callers hold the promise and attach handlers to it. Never cached.
        return Promise.reject(e as Error);
      }
      mints++;
      const pending = mint(host);
      contexts.set(host, pending);
      pending.catch(() => {
        if (contexts.peek(host) === pending) contexts.delete(host);
      });
      return pending;
    },
    get size() {
      return contexts.size;
    },
    get mints() {
      return mints;
    },
  };
}
