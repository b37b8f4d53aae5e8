// Which agent is talking. The socket can say it (a listener bound with "#agent=ID"), or the client proves it
// with Proxy-Authorization: Basic (any username, the token as password: what HTTP_PROXY=http://u:TOKEN@host
// sends) or Bearer. Tokens are compared over SHA-256 digests with timingSafeEqual, every configured agent is
// checked (no early exit), and a token never appears in an error or a log line.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthRequiredError } from '../errors.ts';

export const DEFAULT_AGENT = 'default';

export interface AgentCredential {
  readonly id: string;
  readonly token: string;
}

/**
 * The agent id for a request. No agents configured and no bound listener: "default". A bound listener wins
 * (its socket is the identity; a Proxy-Authorization header is then ignored). Otherwise a valid token is
 * required; a missing, malformed or wrong one throws AuthRequiredError (407, never 403: the client can fix it).
 */
export function identifyAgent(
  proxyAuthorization: string | undefined,
  listenerAgent: string | null,
  agents: readonly AgentCredential[],
): string {
  if (listenerAgent !== null) return listenerAgent;
  if (agents.length === 0) return DEFAULT_AGENT;
  const token = tokenFrom(proxyAuthorization);
  if (token === null) throw new AuthRequiredError();
  const presented = digest(token);
  let found: string | null = null;
  for (const agent of agents) {
    // No break: the time taken does not reveal which agent (if any) matched.
    if (timingSafeEqual(presented, digest(agent.token)) && found === null) found = agent.id;
  }
  if (found === null) throw new AuthRequiredError('Proxy authentication failed: the agent token is not valid. Check the token you were given.');
  return found;
}

/** The token from "Basic base64(user:token)" or "Bearer token"; null when absent or malformed. */
export function tokenFrom(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  const value = m[2] ?? '';
  if (scheme === 'bearer') return value;
  if (scheme !== 'basic') return null;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  const password = decoded.slice(colon + 1);
  return password === '' ? null : password;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
