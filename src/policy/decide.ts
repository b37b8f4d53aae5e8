// decide() and decideHost(): pure, synchronous, and returning frozen Decisions whose reason is one sentence an
// agent can act on. The same value feeds the 403 body, the audit line and `sluice explain`.
import type { GuardSettings } from '../guard/settings.ts';
import type { CompiledEntry, CompiledRule } from './compile-entry.ts';
import {
  buildHostIndex,
  deniesEverything,
  isCanonicalName,
  isIpLiteral,
  looksNormalised,
  portAllowed,
  ruleMatches,
  type HostIndex,
} from './match.ts';
import type { CredentialSpec, Decision, DecisionQuery, Policy } from './types.ts';

export interface PolicyParts {
  readonly entries: readonly CompiledEntry[];
  readonly guard: GuardSettings;
  readonly message: string | null;
  readonly files: readonly string[];
  readonly globalAllowPrivate: readonly string[];
  readonly globalCredentialHeaders: readonly string[];
}

const NO_RETRY = 'Do not retry through another route; ask the operator to change the policy.';

export function createPolicy(parts: PolicyParts): Policy {
  const index = buildHostIndex(parts.entries);
  const ctx: DecideContext = { index, parts };
  const policy: Policy = {
    decideHost: (agent, host, port, scheme) => decideHostImpl(ctx, { agent, host, port, method: 'CONNECT', path: '', scheme }),
    decide: (query) => (query.method === 'CONNECT' ? decideHostImpl(ctx, query) : decideRequest(ctx, query)),
    credentials: Object.freeze(collectCredentials(parts.entries)),
    guard: parts.guard,
    files: Object.freeze([...parts.files]),
    agents: Object.freeze([...new Set(parts.entries.flatMap((e) => [...(e.agents ?? [])]))].sort()),
    entryCount: parts.entries.length,
    isHostAllowed: (host) => index.lookup(host).some((e) => e.pattern.kind !== 'any' && !closedEntirely(e)),
  };
  return Object.freeze(policy);
}

/** An entry whose deny rules cover every method and path (`deny: [{}]`) carves its host out; it allows nothing. */
function closedEntirely(e: CompiledEntry): boolean {
  return e.deny.some((r) => r.methods === null && r.paths === null);
}

interface DecideContext {
  readonly index: HostIndex;
  readonly parts: PolicyParts;
}

type EntryChoice = { entry: CompiledEntry } | { denied: Decision };

function chooseEntry(ctx: DecideContext, q: DecisionQuery): EntryChoice {
  const subject = describeRequest(q);
  if (!isIpLiteral(q.host) && !isCanonicalName(q.host)) {
    return { denied: deny(ctx, q, null, `${subject} is not allowed: the host name is not in canonical form. ${NO_RETRY}`) };
  }
  const candidates = ctx.index.lookup(q.host);
  if (candidates.length === 0) {
    return { denied: deny(ctx, q, null, `${subject} is not allowed: no policy entry allows the host ${q.host}. ${NO_RETRY}`) };
  }
  const forAgent = candidates.filter((e) => e.agents === null || e.agents.has(q.agent));
  if (forAgent.length === 0) {
    const first = candidates[0] as CompiledEntry;
    const who = [...new Set(candidates.flatMap((e) => [...(e.agents ?? [])]))].join(', ');
    const reason = `${subject} is not allowed: ${where(first)} allows ${q.host} only for the agents ${who}, not for "${q.agent}". ${NO_RETRY}`;
    return { denied: deny(ctx, q, first, reason) };
  }
  const entry = forAgent.find((e) => portAllowed(e, q.port, q.scheme));
  if (!entry) {
    const first = forAgent[0] as CompiledEntry;
    const ports = [...new Set(forAgent.flatMap((e) => (e.ports ? [...e.ports] : [q.scheme === 'https' ? 443 : 80])))].join(', ');
    const reason = `${subject} is not allowed: ${where(first)} allows ${q.host} only on port ${ports}, not ${q.port}. ${NO_RETRY}`;
    return { denied: deny(ctx, q, first, reason) };
  }
  const closed = entry.deny.find(deniesEverything);
  if (closed) {
    return { denied: deny(ctx, q, entry, `${subject} is not allowed: ${entry.ref.file}:${closed.line} denies every request to ${q.host}. ${NO_RETRY}`) };
  }
  return { entry };
}

function decideHostImpl(ctx: DecideContext, q: DecisionQuery): Decision {
  const choice = chooseEntry(ctx, q);
  if ('denied' in choice) return choice.denied;
  const e = choice.entry;
  const verb = e.mode === 'tunnel' ? 'tunnelled without inspection' : 'allowed; each request inside is decided again';
  return allow(q, e, null, `${describeRequest(q)} is ${verb} by ${where(e)}.`);
}

function decideRequest(ctx: DecideContext, q: DecisionQuery): Decision {
  const choice = chooseEntry(ctx, q);
  if ('denied' in choice) return choice.denied;
  const e = choice.entry;
  const subject = describeRequest(q);
  if (!looksNormalised(q.path)) {
    return deny(ctx, q, e, `${subject} is not allowed: the path is not in normal form (dot segments or encoded separators). ${NO_RETRY}`);
  }
  const denied = e.deny.find((r) => ruleMatches(r, q.method, q.path));
  if (denied) {
    return deny(ctx, q, e, `${subject} is not allowed: ${e.ref.file}:${denied.line} denies ${denied.summary} on ${e.ref.pattern}. ${NO_RETRY}`);
  }
  if (e.allow === null) return allow(q, e, null, `${subject} is allowed by ${where(e)}.`);
  const rule = e.allow.find((r) => ruleMatches(r, q.method, q.path));
  if (!rule) {
    return deny(ctx, q, e, `${subject} is not allowed: ${e.ref.file} allows only ${e.allowSummary} for this host. ${NO_RETRY}`);
  }
  return allow(q, e, rule, `${subject} is allowed by ${e.ref.file}:${rule.line} (${e.ref.pattern}).`);
}

function allow(q: DecisionQuery, e: CompiledEntry, rule: CompiledRule | null, reason: string): Decision {
  return Object.freeze({
    verdict: 'allow',
    mode: e.mode,
    query: Object.freeze({ ...q }),
    rule: e.ref,
    reason,
    message: e.message,
    credential: rule?.credential ?? e.credential,
    allowPrivate: e.allowPrivate,
    guard: rule?.guard ?? e.guard,
    websocket: e.websocket,
    credentialHeaders: e.credentialHeaders,
  });
}

function deny(ctx: DecideContext, q: DecisionQuery, e: CompiledEntry | null, reason: string): Decision {
  return Object.freeze({
    verdict: 'deny',
    mode: e?.mode ?? 'inspect',
    query: Object.freeze({ ...q }),
    rule: e?.ref ?? null,
    reason,
    message: e?.message ?? ctx.parts.message,
    credential: null,
    allowPrivate: Object.freeze([]) as readonly string[],
    guard: e?.guard ?? ctx.parts.guard,
    websocket: false,
    credentialHeaders: e?.credentialHeaders ?? ctx.parts.globalCredentialHeaders,
  });
}

function where(e: CompiledEntry): string {
  return `${e.ref.file}:${e.ref.line}`;
}

export function describeRequest(q: DecisionQuery): string {
  const host = q.host.includes(':') ? `[${q.host}]` : q.host;
  if (q.method === 'CONNECT') return `CONNECT ${host}:${q.port}`;
  const defaultPort = q.scheme === 'https' ? 443 : 80;
  const port = q.port === defaultPort ? '' : `:${q.port}`;
  return `${q.method} ${q.scheme}://${host}${port}${q.path}`;
}

function collectCredentials(entries: readonly CompiledEntry[]): CredentialSpec[] {
  const seen = new Map<string, CredentialSpec>();
  for (const e of entries) {
    for (const c of [e.credential, ...(e.allow ?? []).map((r) => r.credential)]) {
      if (c) seen.set(JSON.stringify(c), c);
    }
  }
  return [...seen.values()];
}

/** What the 403 body says: the reason, then the operator's guidance when the policy has some. */
export function denialMessage(d: Decision): string {
  return d.message ? `${d.reason} ${d.message}` : d.reason;
}
