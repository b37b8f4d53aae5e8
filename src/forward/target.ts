// Which destination a request names. One parse, one canonical value: the same (host, port) is decided, bound to
// the credential, dialled and sent as Host (THREATS 2.1, 2.4).
import type { IncomingMessage } from 'node:http';
import { BadRequestError, PolicyDeniedError, TooLargeError } from '../errors.ts';
import { parseAbsoluteTarget, parseHostHeader, parseOriginTarget, sameAuthority, type Authority } from '../net/authority.ts';
import { countHeader } from './headers.ts';
import type { RequestOrigin } from './context.ts';

export interface RequestTarget {
  readonly scheme: 'http' | 'https';
  readonly authority: Authority;
  /** Normalised path, without query: what policy matched and what is forwarded. */
  readonly path: string;
  /** Raw query string without '?', or ''. */
  readonly query: string;
}

export function requestTarget(req: IncomingMessage, origin: RequestOrigin, maxUrlLength: number): RequestTarget {
  const raw = req.url ?? '';
  if (raw.length > maxUrlLength) throw new TooLargeError(`The request URL is longer than ${maxUrlLength} bytes.`, 414);
  const hosts = countHeader(req.rawHeaders, 'host');
  if (hosts > 1) throw new BadRequestError('The request has more than one Host header; send exactly one.');
  if (origin.tunnel) return tunnelTarget(req, origin.tunnel, raw, hosts);
  if (!/^https?:\/\//i.test(raw)) {
    throw new BadRequestError('Sluice is a proxy: send requests in absolute form (GET http://host/path) or use CONNECT for HTTPS.');
  }
  const parsed = parseAbsoluteTarget(raw);
  if (parsed.scheme === 'https') {
    throw new BadRequestError('An https:// URL must be reached through CONNECT (set HTTPS_PROXY), not sent as a plain proxy request.');
  }
  // RFC 9112 §3.2.2: for absolute-form the URI's authority wins; Host is rewritten from it, never trusted.
  return { scheme: parsed.scheme, authority: parsed.authority, path: parsed.path, query: parsed.query };
}

function tunnelTarget(req: IncomingMessage, tunnel: NonNullable<RequestOrigin['tunnel']>, raw: string, hosts: number): RequestTarget {
  const tunnelAuthority: Authority = { host: tunnel.host, port: tunnel.port, kind: tunnel.kind };
  let target: { path: string; query: string };
  if (/^https?:\/\//i.test(raw)) {
    const parsed = parseAbsoluteTarget(raw);
    if (!sameAuthority(parsed.authority, tunnelAuthority)) throw fronting(tunnel.host, parsed.authority.host);
    target = { path: parsed.path, query: parsed.query };
  } else if (raw.startsWith('/')) {
    target = parseOriginTarget(raw);
  } else {
    throw new BadRequestError('Inside a tunnel, requests must use an origin-form target such as /path.');
  }
  if (hosts !== 1) throw new BadRequestError('The request has no Host header.');
  const host = parseHostHeader(req.headers.host ?? '', tunnel.port);
  if (!sameAuthority(host, tunnelAuthority)) throw fronting(tunnel.host, host.host);
  // Both parses above return the path normalised (normalisePath is idempotent: test/unit/net/properties.test.ts).
  return { scheme: 'https', authority: tunnelAuthority, path: target.path, query: target.query };
}

/** Domain fronting: the tunnel was allowed for one host and the request names another (THREATS 2.4). */
function fronting(tunnelHost: string, requestHost: string): PolicyDeniedError {
  return new PolicyDeniedError(
    `This tunnel was opened for ${tunnelHost} but the request names ${requestHost}. Open a separate CONNECT to each host; requests cannot be re-addressed inside a tunnel.`,
  );
}
