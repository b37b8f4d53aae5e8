// One validated host entry → a compiled entry: canonical host pattern, port and agent sets, picomatch matchers,
// credential spec and merged guard settings. Everything decide() needs is precomputed here.
import picomatch from 'picomatch';
import type { SourceProblem } from '../errors.ts';
import { positionOf, type YamlSource } from '../config/index.ts';
import { DEFAULT_GUARD_SETTINGS, mergeGuardSettings, unknownDisabledRules, type GuardSettings, type GuardSettingsInput } from '../guard/settings.ts';
import { normaliseCredential } from './credential.ts';
import { parseCidrText, parseHostPattern, type HostPattern } from './host-pattern.ts';
import type { AllowRuleInput, CredentialInput, DenyRuleInput, HostEntryInput } from './schema.ts';
import type { CredentialSpec, Mode, RuleRef } from './types.ts';

export interface PathMatcher {
  readonly globs: readonly string[];
  readonly test: (path: string) => boolean;
}

export interface CompiledRule {
  readonly methods: ReadonlySet<string> | null;
  readonly paths: PathMatcher | null;
  readonly credential: CredentialSpec | null;
  readonly guard: GuardSettings;
  readonly line: number;
  /** "GET,POST on /repos/**" for reasons, built once here rather than on every denial. */
  readonly summary: string;
}

export interface CompiledEntry {
  readonly ref: RuleRef;
  readonly pattern: HostPattern;
  readonly ports: ReadonlySet<number> | null;
  readonly mode: Mode;
  readonly agents: ReadonlySet<string> | null;
  readonly allow: readonly CompiledRule[] | null;
  readonly deny: readonly CompiledRule[];
  readonly credential: CredentialSpec | null;
  readonly allowPrivate: readonly string[];
  readonly guard: GuardSettings;
  readonly message: string | null;
  readonly websocket: boolean;
  readonly credentialHeaders: readonly string[];
  /** What the allow rules permit, for denial reasons ("GET on /a; POST on /b"). */
  readonly allowSummary: string;
  /** The settings as written (minus the host), for "same host, conflicting settings" detection. */
  readonly fingerprint: string;
}

export interface EntryContext {
  readonly source: YamlSource;
  readonly index: number;
  readonly globalGuard: GuardSettingsInput | undefined;
  readonly globalAllowPrivate: readonly string[];
  readonly globalCredentialHeaders: readonly string[];
  readonly knownAgents: readonly string[];
  readonly unsafeAllowAll: boolean;
}

type Problems = SourceProblem[];

export function compileEntry(e: HostEntryInput, ctx: EntryContext): { entry: CompiledEntry | null; problems: Problems } {
  const problems: Problems = [];
  const at = (path: readonly PropertyKey[], message: string) => {
    const { line, col } = positionOf(ctx.source, ['hosts', ctx.index, ...path]);
    problems.push({ file: ctx.source.file, line, col, message });
  };
  const parsed = parseHostPattern(e.host);
  if (!parsed.ok) at(['host'], parsed.message);
  if (parsed.ok && parsed.pattern.kind === 'any' && !ctx.unsafeAllowAll) {
    at(['host'], 'host "*" allows every destination; set "unsafeAllowAll: true" at the top level of this file if that is really meant');
  }
  const wildcard = parsed.ok && parsed.pattern.kind !== 'exact' && parsed.pattern.kind !== 'ip';
  const mode: Mode = e.mode ?? 'inspect';
  checkModeAndAgents(e, mode, ctx.knownAgents, at);
  const credential = compileCredential(e.credential, ['credential'], wildcard, at);
  const entryGuard = mergeGuardSettings(DEFAULT_GUARD_SETTINGS, ctx.globalGuard, e.guard);
  for (const u of unknownDisabledRules(entryGuard, e.guard?.disableRules ?? [])) at(u.own >= 0 ? ['guard', 'disableRules', u.own] : ['host'], u.message);
  const lineOf = (path: readonly PropertyKey[]) => positionOf(ctx.source, ['hosts', ctx.index, ...path]).line;
  const allow = e.allow?.map((r, i) => compileRule(r, ['allow', i], entryGuard, wildcard, at, lineOf(['allow', i]))) ?? null;
  const deny = (e.deny ?? []).map((r, i) => compileRule(r, ['deny', i], entryGuard, wildcard, at, lineOf(['deny', i])));
  const allowPrivate = compileAllowPrivate(e, parsed.ok ? parsed.pattern : null, ctx.globalAllowPrivate, at);
  if (problems.length > 0 || !parsed.ok) return { entry: null, problems };
  const { line, col } = positionOf(ctx.source, ['hosts', ctx.index]);
  const entry: CompiledEntry = {
    ref: Object.freeze({ file: ctx.source.file, line, col, index: ctx.index, pattern: parsed.pattern.text }),
    pattern: parsed.pattern,
    ports: e.ports ? new Set(e.ports) : null,
    mode,
    agents: e.agents ? new Set(e.agents) : null,
    allow,
    deny,
    credential,
    allowPrivate,
    guard: entryGuard,
    message: e.message ?? null,
    websocket: e.websocket ?? false,
    credentialHeaders: Object.freeze(unique([...ctx.globalCredentialHeaders, ...(e.credentialHeaders ?? [])].map((h) => h.toLowerCase()))),
    allowSummary: (allow ?? []).slice(0, 3).map((r) => r.summary).join('; ') + ((allow ?? []).length > 3 ? '; …' : ''),
    fingerprint: JSON.stringify({ ...e, host: undefined, ports: undefined, agents: undefined }),
  };
  return { entry, problems };
}

type At = (path: readonly PropertyKey[], message: string) => void;

function checkModeAndAgents(e: HostEntryInput, mode: Mode, knownAgents: readonly string[], at: At): void {
  if (mode === 'tunnel') {
    // A blind tunnel carries TLS Sluice cannot read: rules, credentials and guard settings would be silently ignored.
    for (const key of ['allow', 'deny', 'credential', 'guard', 'websocket'] as const) {
      if (e[key] !== undefined && !(key === 'websocket' && e[key] === false)) at([key], `"${key}" cannot apply to "mode: tunnel" (the traffic is not inspected); remove it or use "mode: inspect"`);
    }
  }
  (e.agents ?? []).forEach((a, i) => {
    if (!knownAgents.includes(a)) at(['agents', i], `unknown agent "${a}" (the config defines: ${knownAgents.join(', ')})`);
  });
}

function compileCredential(c: CredentialInput | undefined, path: readonly PropertyKey[], wildcard: boolean, at: At): CredentialSpec | null {
  if (c === undefined) return null;
  if (wildcard) {
    // THREATS 2.6: a secret bound to a pattern goes to every host an attacker can make match it.
    at(path, `credential "${c.secret}" cannot be bound to a wildcard, "*" or CIDR host; bind it to exact host names`);
    return null;
  }
  const r = normaliseCredential(c);
  if (!r.ok) {
    at([...path, r.key], r.message);
    return null;
  }
  return r.spec;
}

function compileRule(
  r: AllowRuleInput | DenyRuleInput,
  path: readonly PropertyKey[],
  entryGuard: GuardSettings,
  wildcard: boolean,
  at: At,
  line: number,
): CompiledRule {
  const withExtras = r as AllowRuleInput;
  const paths = r.paths ? compilePaths(r.paths, [...path, 'paths'], at) : null;
  return {
    methods: r.methods ? new Set(r.methods) : null,
    paths,
    credential: compileCredential(withExtras.credential, [...path, 'credential'], wildcard, at),
    guard: withExtras.guard ? mergeGuardSettings(entryGuard, withExtras.guard) : entryGuard,
    line,
    summary: `${r.methods ? r.methods.join(',') : 'any method'} on ${r.paths ? r.paths.join(', ') : 'any path'}`,
  };
}

function compilePaths(globs: readonly string[], path: readonly PropertyKey[], at: At): PathMatcher | null {
  let ok = true;
  globs.forEach((g, i) => {
    const problem = globProblem(g);
    if (problem) {
      at([...path, i], `path glob ${JSON.stringify(g)}: ${problem}`);
      ok = false;
    }
  });
  if (!ok) return null;
  // dot: dot segments are already removed from the request path, so a leading dot is an ordinary name.
  // Plain RegExps from picomatch.makeRe: its matcher function wraps them in bookkeeping decide() does not need.
  const res = globs.map((g) => picomatch.makeRe(normaliseGlobEscapes(g), { dot: true, nocase: false, strictBrackets: true }));
  const test = res.length === 1 ? (p: string) => (res[0] as RegExp).test(p) : (p: string) => res.some((re) => re.test(p));
  return { globs: Object.freeze([...globs]), test };
}

/**
 * Write a glob's percent-escapes the way request paths are normalised (net/path.ts): unreserved characters
 * decoded, other escapes in upper-case hex. Otherwise "/a%3ab" could never match the normalised "/a%3Ab".
 */
export function normaliseGlobEscapes(glob: string): string {
  return glob.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

function globProblem(g: string): string | null {
  if (!g.startsWith('/')) return 'must start with "/"';
  if (/[?#]/.test(g)) return 'paths match the path only (no query or fragment); "?" and "#" are not allowed';
  if (g.includes('\\')) return 'backslashes are not allowed';
  if (/(^|\/)\.{1,2}(\/|$)/.test(g)) return '"." and ".." segments never match (request paths are normalised first)';
  if (/%(?![0-9A-Fa-f]{2})/.test(g)) return 'a "%" must start a percent-escape such as %20';
  try {
    picomatch.makeRe(g, { dot: true, strictBrackets: true });
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

function compileAllowPrivate(e: HostEntryInput, pattern: HostPattern | null, global: readonly string[], at: At): readonly string[] {
  const out: string[] = [...global];
  (e.allowPrivate ?? []).forEach((c, i) => {
    const r = parseCidrText(c);
    if (r.ok) out.push(r.text);
    else at(['allowPrivate', i], r.message);
  });
  // Naming an IP or CIDR as the host is itself the exact, per-entry exemption THREATS 2.2 asks for.
  if (pattern?.kind === 'ip') out.push(pattern.ip.includes(':') ? `${pattern.ip}/128` : `${pattern.ip}/32`);
  if (pattern?.kind === 'cidr') out.push(pattern.text);
  return Object.freeze(unique(out));
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
