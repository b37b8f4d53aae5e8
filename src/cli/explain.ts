// `sluice explain METHOD URL`: the Decision the running proxy would make, and why. The request is parsed by the
// same authority and path functions the proxy uses, so explain cannot disagree with it.
import { BadRequestError, SluiceError } from '../errors.ts';
import type { GuardSettings } from '../guard/settings.ts';
import { parseAbsoluteTarget, parseConnectAuthority } from '../net/authority.ts';
import { describeRequest, type Decision, type DecisionQuery, type Policy } from '../policy/index.ts';
import { CONFIG_OPTION, parseCommandArgs } from './args.ts';
import { loadConfigAndPolicy, printProblems, type Loaded } from './check.ts';

export const usage = `Usage: sluice explain [--config FILE] [--agent ID] [--json] METHOD URL

Print the policy decision for one request: verdict, mode, the matched entry (file:line), the credential that
would be injected (its name only), the guard settings and the reason. URL is http(s)://host[:port]/path;
for CONNECT give host:port.

  --agent ID   decide as this agent (required when the config defines agents; default "default")
  --json       print the decision as one JSON object

Exit status: 0 when the request was explained (whether allowed or denied), 1 when the config or policy does
not load, 2 on a usage error (unknown flag, bad method or URL, unknown agent).
`;

export type RequestQuery = Omit<DecisionQuery, 'agent'>;

/** "METHOD URL" → the query decide() receives. Throws SluiceError (BadRequestError) for a URL the proxy would refuse. */
export function parseRequest(method: string, url: string): RequestQuery {
  // Any RFC 9110 token: "get" is a different method from "GET", and the policy decides on it as sent.
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) throw new BadRequestError(`"${method}" is not an HTTP method`);
  if (method === 'CONNECT') {
    const a = parseConnectAuthority(url);
    return { host: a.host, port: a.port, method, path: '', scheme: 'https' };
  }
  const t = parseAbsoluteTarget(url);
  return { host: t.authority.host, port: t.authority.port, method, path: t.path, scheme: t.scheme };
}

export function decideFor(policy: Policy, agent: string, q: RequestQuery): Decision {
  return q.method === 'CONNECT' ? policy.decideHost(agent, q.host, q.port, q.scheme) : policy.decide({ ...q, agent });
}

/** The agent to decide as: --agent, else "default" when the config has no agents. Null (usage error) otherwise. */
export function agentFor(loaded: Loaded, requested: unknown): { agent: string } | { error: string } {
  const ids = loaded.config.agents.map((a) => a.id);
  if (typeof requested === 'string') {
    if (ids.length === 0 ? requested === 'default' : ids.includes(requested)) return { agent: requested };
    return { error: `unknown agent "${requested}" (known: ${ids.length > 0 ? ids.join(', ') : 'default'})` };
  }
  return ids.length === 0 ? { agent: 'default' } : { error: `the config defines agents; pass --agent (one of ${ids.join(', ')})` };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { ...CONFIG_OPTION, agent: { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (!parsed) return 2;
  const [method, url, extra] = parsed.positionals;
  if (method === undefined || url === undefined || extra !== undefined) {
    process.stderr.write(`sluice explain: expected METHOD URL\n\n${usage}`);
    return 2;
  }
  let query: RequestQuery;
  try {
    query = parseRequest(method, url);
  } catch (e) {
    if (!(e instanceof SluiceError)) throw e;
    process.stderr.write(`sluice explain: ${e.message}\n`);
    return 2;
  }
  const r = loadConfigAndPolicy(parsed.values);
  if (!r.ok) {
    printProblems(r.problems);
    return 1;
  }
  const who = agentFor(r.loaded, parsed.values['agent']);
  if ('error' in who) {
    process.stderr.write(`sluice explain: ${who.error}\n`);
    return 2;
  }
  const d = decideFor(r.loaded.policy, who.agent, query);
  process.stdout.write(parsed.values['json'] === true ? `${JSON.stringify(explanationJson(d))}\n` : explanationText(d));
  return 0;
}

export function explanationJson(d: Decision): Record<string, unknown> {
  return {
    verdict: d.verdict,
    mode: d.mode,
    agent: d.query.agent,
    request: describeRequest(d.query),
    method: d.query.method,
    scheme: d.query.scheme,
    host: d.query.host,
    port: d.query.port,
    path: d.query.path,
    entry: d.rule,
    credential: d.credential,
    guard: d.guard,
    websocket: d.websocket,
    allowPrivate: d.allowPrivate,
    credentialHeaders: d.credentialHeaders,
    reason: d.reason,
    message: d.message,
  };
}

function explanationText(d: Decision): string {
  const c = d.credential;
  const credential = c === null ? 'none' : c.in === 'query' ? `${c.secret} (query parameter "${c.query}")` : `${c.secret} (header ${c.header}: ${c.format})`;
  const lines = [
    `verdict:    ${d.verdict}`,
    `request:    ${describeRequest(d.query)}`,
    `agent:      ${d.query.agent}`,
    `mode:       ${d.mode}`,
    `entry:      ${d.rule === null ? 'none' : `${d.rule.file}:${d.rule.line} (${d.rule.pattern})`}`,
    `credential: ${credential}`,
    `guard:      ${d.mode === 'tunnel' ? 'none (tunnelled traffic is not inspected)' : guardSummary(d.guard)}`,
    `reason:     ${d.reason}`,
  ];
  if (d.message !== null) lines.push(`message:    ${d.message}`);
  return `${lines.join('\n')}\n`;
}

export function guardSummary(g: GuardSettings): string {
  const pii = Object.entries(g.pii).map(([k, v]) => `${k}=${v}`);
  const parts = [`request ${g.request}`, `response ${g.response}`, `secrets ${g.secrets}`];
  if (pii.length > 0) parts.push(`pii ${pii.join(',')}`);
  if (g.disableRules.length > 0) parts.push(`disabled rules ${g.disableRules.join(',')}`);
  return parts.join(', ');
}
