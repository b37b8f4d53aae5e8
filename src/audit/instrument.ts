// Metrics around the certificate cache and the secrets store, kept out of those modules so they stay free of
// metrics concerns.
import { SecretUnavailableError } from '../errors.ts';
import type { LeafCache } from '../tls/index.ts';
import type { SecretStore } from '../secrets/index.ts';
import type { Metrics } from './metrics.ts';

/** Report certificate mints to the metrics as they happen (the cache counts them; the delta is new work). */
export function countMints(cache: LeafCache, metrics: Metrics): LeafCache {
  let reported = 0;
  return {
    get size() {
      return cache.size;
    },
    get mints() {
      return cache.mints;
    },
    async contextFor(host) {
      const context = await cache.contextFor(host);
      for (; reported < cache.mints; reported++) metrics.leafMinted();
      return context;
    },
  };
}

/** Count secret fetches by result for /metrics; the store itself stays free of metrics. */
export function countFetches(store: SecretStore, metrics: Metrics): SecretStore {
  return Object.assign(Object.create(store) as SecretStore, {
    async resolve(name: string) {
      try {
        const v = await store.resolve(name);
        metrics.secretFetch('store', 'ok');
        return v;
      } catch (e) {
        metrics.secretFetch('store', e instanceof SecretUnavailableError && !e.cause ? 'missing' : 'error');
        throw e;
      }
    },
  });
}

