// The values the policy module hands to the rest of Sluice. decide() is pure and synchronous and returns a
// frozen Decision; the same value feeds `sluice explain`, the 403 body and the audit line.
import type { GuardSettings } from '../guard/settings.ts';

export type Mode = 'inspect' | 'tunnel';
export type Verdict = 'allow' | 'deny';

/** How a credential is put on a request bound for its host. */
export interface CredentialSpec {
  /** The secret's name in the secrets backends (what the audit line shows). */
  readonly secret: string;
  /** 'header' sets `header` to `format` with {secret} replaced; 'query' sets the query parameter `query`. */
  readonly in: 'header' | 'query';
  /** Header to set ('' when `in` is 'query'). */
  readonly header: string;
  /**
   * The value to send. Exactly one token: "{secret}" (replaced by the secret as is) or "{basic:USERNAME}"
   * (replaced by base64("USERNAME:" + secret), RFC 7617; written by `type: basic`, e.g. "Basic {basic:x-access-token}").
   * renderCredential() in src/policy/credential.ts builds it.
   */
  readonly format: string;
  readonly query: string | null;
  /** The stand-in the agent is given instead of the value (e.g. "sluice:GITHUB_TOKEN"). */
  readonly placeholder: string;
}

/** Where a matched rule was written, for explain, audit and errors. */
export interface RuleRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Index of the host entry in its file. */
  readonly index: number;
  /** The entry's host pattern as written (normalised). */
  readonly pattern: string;
}

export interface DecisionQuery {
  readonly agent: string;
  /** Canonical host: lower-case A-labels without trailing dot, or a canonical IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** 'CONNECT' for decideHost. */
  readonly method: string;
  /** Normalised path without query ('' for CONNECT). */
  readonly path: string;
  /** Whether the request came as plain http (absolute-form) rather than inside TLS; affects default ports. */
  readonly scheme: 'http' | 'https';
}

export interface Decision {
  readonly verdict: Verdict;
  readonly mode: Mode;
  readonly query: DecisionQuery;
  readonly rule: RuleRef | null;
  /** One sentence an agent and an operator can both act on. */
  readonly reason: string;
  /** Optional guidance written by ops (`message:` in the policy). */
  readonly message: string | null;
  /** Credential to inject when allowed, or null. */
  readonly credential: CredentialSpec | null;
  /** CIDRs this destination may resolve to even though they are private (entry list + global config list). */
  readonly allowPrivate: readonly string[];
  /** Guard settings already merged (global, then host entry, then rule). */
  readonly guard: GuardSettings;
  /** WebSocket upgrades allowed for this entry. */
  readonly websocket: boolean;
  /** Extra header names (lower case) to strip from the agent's request, beyond Authorization and friends. */
  readonly credentialHeaders: readonly string[];
}

/** A loaded, validated, immutable policy. */
export interface Policy {
  /** Decide a CONNECT (or the host part of a plain request): host, port, agent only. */
  decideHost(agent: string, host: string, port: number, scheme: 'http' | 'https'): Decision;
  /** Decide one request. */
  decide(query: DecisionQuery): Decision;
  /** Every credential any entry can inject (for placeholders and the known-secret guard). */
  readonly credentials: readonly CredentialSpec[];
  /** Global guard settings. */
  readonly guard: GuardSettings;
  /** Files the policy was loaded from. */
  readonly files: readonly string[];
  /** Agent ids named anywhere in the policy. */
  readonly agents: readonly string[];
  /** Number of host entries (for summaries and metrics). */
  readonly entryCount: number;
  /** Whether any entry (other than a bare "*") allows this canonical host on some port for some agent. */
  isHostAllowed(host: string): boolean;
}
