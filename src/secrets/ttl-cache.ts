// A per-name cache for backends that are expensive to ask (a command, a Vault round trip): one fetch in
// flight per name, answers kept for ttlMs, and a change callback when a refetch returns a different answer
// (rotation). Failures are not cached and an expired answer is never served, so a backend that went down
// makes its secrets unavailable instead of serving stale ones. The keys are secret names from the policy,
// never something an agent sends, so the maps are bounded by the policy.

export type Fetch = (name: string) => Promise<string | undefined>;

export interface TtlCache {
  get(name: string): Promise<string | undefined>;
  clear(): void;
}

export function createTtlCache(ttlMs: number, fetch: Fetch, onChanged: () => void, now: () => number = () => performance.now()): TtlCache {
  const fresh = new Map<string, { readonly value: string | undefined; readonly expires: number }>();
  const lastSeen = new Map<string, string | undefined>();
  const inFlight = new Map<string, Promise<string | undefined>>();

  function refetch(name: string): Promise<string | undefined> {
    const pending = inFlight.get(name);
    if (pending) return pending;
    const p = fetch(name)
      .then((value) => {
        if (ttlMs > 0) fresh.set(name, { value, expires: now() + ttlMs });
        const changed = lastSeen.has(name) && lastSeen.get(name) !== value;
        lastSeen.set(name, value);
        if (changed) onChanged();
        return value;
      })
      .finally(() => inFlight.delete(name));
    inFlight.set(name, p);
    return p;
  }

  return {
    async get(name) {
      const e = fresh.get(name);
      if (e && e.expires > now()) return e.value;
      fresh.delete(name);
      return refetch(name);
    },
    clear() {
      fresh.clear();
      lastSeen.clear();
    },
  };
}
