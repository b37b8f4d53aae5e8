// Which headers cross Sluice. Sluice re-serialises every message it forwards (THREATS 2.5), so framing headers
// are never copied: undici and node:http write their own Content-Length or chunked encoding.

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the proxy and HTTP/2-upgrade ones that must never cross (THREATS 2.6, 2.9). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'content-length',
  'host',
  'expect',
]);

/** Method-override headers let a POST act as DELETE upstream after policy checked POST (THREATS 2.10). */
const METHOD_OVERRIDE = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);

export type HeaderPairs = [string, string][];

/** Header names listed in Connection are hop-by-hop for this message too (RFC 9110 §7.6.1). */
function connectionListed(pairs: ReadonlyArray<readonly [string, string]>): Set<string> {
  const listed = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) listed.add(t);
    }
  }
  return listed;
}

export function pairsFromRaw(raw: readonly string[]): HeaderPairs {
  const out: HeaderPairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** The agent's headers as they may go upstream: no hop-by-hop, no framing, no method override. */
export function endToEndRequestHeaders(raw: readonly string[]): HeaderPairs {
  const pairs = pairsFromRaw(raw);
  const listed = connectionListed(pairs);
  return pairs.filter(([name]) => {
    const n = name.toLowerCase();
    return !HOP_BY_HOP.has(n) && !listed.has(n) && !METHOD_OVERRIDE.has(n);
  });
}

/** The upstream's headers as they may go to the agent. */
export function endToEndResponseHeaders(headers: Record<string, string | string[] | undefined>): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, value]);
  }
  const listed = connectionListed(pairs);
  return pairs.filter(([name]) => {
    const n = name.toLowerCase();
    return (n === 'content-length' || !HOP_BY_HOP.has(n)) && !listed.has(n);
  });
}

export function headerValue(pairs: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of pairs) if (k.toLowerCase() === n) return v;
  return undefined;
}

export function withoutHeaders(pairs: ReadonlyArray<readonly [string, string]>, names: readonly string[]): HeaderPairs {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return pairs.filter(([k]) => !drop.has(k.toLowerCase())).map(([k, v]) => [k, v]);
}

export function flatten(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) out.push(k, v);
  return out;
}

/** How many times a header appears in raw headers (duplicate Host is ambiguous: THREATS 2.1). */
export function countHeader(raw: readonly string[], name: string): number {
  const n = name.toLowerCase();
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === n) count++;
  return count;
}
