// Resolve once, check every answer, dial the checked address (THREATS 2.2). Checking a name and letting the
// dialler resolve it again is the DNS-rebinding TOCTOU; checking only the first of several A records lets a
// mixed answer (one public, one 169.254.169.254) through on the next connection attempt.
import dns from 'node:dns';
import { LRUCache } from 'lru-cache';
import { PolicyDeniedError, UpstreamFailedError, UpstreamTimeoutError } from '../errors.ts';
import { describeClass } from './address-class.ts';
import type { AddressGuard, AddressVerdict } from './address-guard.ts';
import type { Authority } from './authority.ts';
import { canonicalHost } from './host.ts';
import type { HostKind } from './host.ts';

export interface Resolver {
  /** Every address for `host` (canonical, from net/authority); IP literals resolve to themselves. */
  resolve(host: string, kind: HostKind): Promise<string[]>;
  /** The same answer when it is known without waiting (an IP literal, an override, a fresh cached answer). */
  known(host: string, kind: HostKind): readonly string[] | undefined;
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

interface OverrideTable {
  readonly exact: ReadonlyMap<string, readonly string[]>;
  /** Suffixes without "*.", longest first, so the most specific wildcard wins. */
  readonly wildcards: readonly (readonly [string, readonly string[]])[];
}

function overrideAddresses(key: string, value: string | string[]): readonly string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (list.length === 0) throw new Error(`upstream.resolve ${JSON.stringify(key)}: give at least one IP address`);
  return Object.freeze(list.map((text) => {
    const parsed = tryCanonical(text);
    if (parsed === null || parsed.kind === 'name') {
      throw new Error(`upstream.resolve ${JSON.stringify(key)}: ${JSON.stringify(text)} is not an IP address`);
    }
    return parsed.host;
  }));
}

function tryCanonical(text: string): ReturnType<typeof canonicalHost> | null {
  try {
    return canonicalHost(text);
  } catch {
    return null;
  }
}

function compileOverrides(overrides: Record<string, string | string[]>): OverrideTable {
  const exact = new Map<string, readonly string[]>();
  const wildcards: [string, readonly string[]][] = [];
  for (const [key, value] of Object.entries(overrides)) {
    const wildcard = key.startsWith('*.');
    const name = tryCanonical(wildcard ? key.slice(2) : key);
    if (name === null || name.kind !== 'name') {
      throw new Error(`upstream.resolve: the key ${JSON.stringify(key)} must be a DNS name or "*.suffix"`);
    }
    const addresses = overrideAddresses(key, value);
    if (wildcard) wildcards.push([name.host, addresses]);
    else exact.set(name.host, addresses);
  }
  wildcards.sort((a, b) => b[0].length - a[0].length);
  return { exact, wildcards };
}

function findOverride(table: OverrideTable, host: string): readonly string[] | undefined {
  const hit = table.exact.get(host);
  if (hit !== undefined) return hit;
  // "*.example.test" covers a.example.test and a.b.example.test, not the apex (same rule as policy hosts).
  return table.wildcards.find(([suffix]) => host.endsWith(`.${suffix}`))?.[1];
}

function dnsFailure(host: string, error: unknown): UpstreamFailedError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  const temporary = code === 'EAI_AGAIN';
  const message = temporary
    ? `The name ${host} could not be resolved right now${detail}; retry later.`
    : `The name ${host} does not resolve${detail}. Check the host name.`;
  return new UpstreamFailedError(message, { cause: error });
}

/**
 * How long a system resolver's answer is reused. getaddrinfo has no TTL and glibc no cache, so without this
 * every request (each one inside an intercepted tunnel too) was a thread-pool lookup and, in a container without
 * a caching resolver, a DNS query. The answer is cached, never the verdict: resolveChecked checks every address
 * against the asking entry's allowPrivate on every request, so a cached answer cannot let a request through that
 * a fresh one would refuse for the same addresses. A failed lookup is not kept; lookups of one name in flight at
 * once share one query. lru-cache (already used for leaves and pools) gives the TTL and the bound.
 */
export const DNS_ANSWER_TTL_MS = 5_000;
const DNS_ANSWER_NAMES = 1_024;

/**
 * `overrides` maps a name or "*.suffix" to one or more IPs (like curl --resolve); keys are canonicalised, so
 * "API.Example.TEST." and "api.example.test" are the same entry. Throws on an invalid entry.
 */
export function createResolver(
  overrides: Record<string, string | string[]>,
  lookup: typeof dns.promises.lookup = dns.promises.lookup,
  answerTtlMs: number = DNS_ANSWER_TTL_MS,
): Resolver {
  const table = compileOverrides(overrides);
  // fetchMethod gives the sharing of lookups in flight and drops a rejected lookup (noDeleteOnFetchRejection is off).
  const answers = new LRUCache<string, readonly string[]>({
    max: DNS_ANSWER_NAMES,
    ttl: answerTtlMs,
    fetchMethod: async (host) => {
      let found: dns.LookupAddress[];
      try {
        found = await lookup(host, { all: true, verbatim: true });
      } catch (error) {
        throw dnsFailure(host, error);
      }
      if (found.length === 0) throw dnsFailure(host, null);
      return found.map((answer) => answer.address);
    },
  });
  const known = (host: string, kind: HostKind): readonly string[] | undefined =>
    kind !== 'name' ? [host] : (findOverride(table, host) ?? answers.get(host));
  return {
    known,
    async resolve(host, kind) {
      // A copy: the caller may change its list, the cached one serves the next request.
      return [...(known(host, kind) ?? (await answers.forceFetch(host)))];
    },
  };
}

function addressPhrase(verdict: AddressVerdict): string {
  if (verdict.class === 'self') return "one of Sluice's own listening addresses";
  const what = describeClass(verdict.class);
  const article = /^[aeio]/.test(what) || what.startsWith('unspec') ? 'an' : 'a';
  return `${article} ${what} address`;
}

function refusal(authority: Authority, refused: AddressVerdict): PolicyDeniedError {
  const subject = authority.kind === 'name' ? `${authority.host} resolves to` : `${authority.host} is`;
  // The address itself is left out: the agent has no DNS of its own, and internal answers are not its business.
  return new PolicyDeniedError(
    `${subject} ${addressPhrase(refused)}, which Sluice does not connect to. Only public addresses are reachable unless the operator exempts the range (allowPrivate).`,
    { cause: refused },
  );
}

/**
 * Resolve once, classify every answer, refuse if any answer is refused, else return the first; the caller
 * dials exactly this address, never the name. Throws PolicyDeniedError (403, before any connect) or
 * UpstreamFailedError (the name does not resolve).
 */
export async function resolveChecked(
  resolver: Resolver,
  guard: AddressGuard,
  authority: Authority,
  allowPrivate: readonly string[],
): Promise<ResolvedAddress> {
  return checkAnswers(guard, authority, allowPrivate, await resolver.resolve(authority.host, authority.kind));
}

/**
 * resolveChecked bounded by `timeoutMs`. An answer known without waiting (every request inside a tunnel whose
 * name was resolved at its CONNECT) is checked at once, with no timer and no race: that pair of promises and the
 * timer were about 2% of what a small GET allocates.
 */
export function dialChecked(
  resolver: Resolver,
  guard: AddressGuard,
  authority: Authority,
  allowPrivate: readonly string[],
  timeoutMs: number,
): Promise<ResolvedAddress> {
  const known = resolver.known(authority.host, authority.kind);
  if (known === undefined) return withTimeout(resolveChecked(resolver, guard, authority, allowPrivate), timeoutMs, authority.host);
  try {
    return Promise.resolve(checkAnswers(guard, authority, allowPrivate, known));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** dns.lookup cannot be cancelled; a stuck resolver must still give the agent a 504, not a hang. */
function withTimeout<T>(p: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamTimeoutError(`Resolving ${host} did not finish in time.`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function checkAnswers(guard: AddressGuard, authority: Authority, allowPrivate: readonly string[], addresses: readonly string[]): ResolvedAddress {
  const verdicts = addresses.map((address) => guard.check(address, allowPrivate, authority.port));
  const refused = verdicts.find((v) => !v.allowed);
  if (refused !== undefined) throw refusal(authority, refused);
  const first = verdicts[0];
  if (first === undefined) throw dnsFailure(authority.host, null);
  return Object.freeze({ address: first.address, family: first.address.includes(':') ? 6 : 4 });
}
