// Load a policy from a YAML file or a directory of *.yaml files: parse with places, validate strictly, compile,
// merge, and refuse conflicts. All or nothing: a policy with one problem is not a policy.
import fs from 'node:fs';
import path from 'node:path';
import type { SourceProblem } from '../errors.ts';
import { parseYaml, positionOf, zodProblems } from '../config/index.ts';
import { DEFAULT_GUARD_SETTINGS, mergeGuardSettings, type GuardSettingsInput } from '../guard/settings.ts';
import { compileEntry, type CompiledEntry } from './compile-entry.ts';
import { createPolicy } from './decide.ts';
import { parseCidrText } from './host-pattern.ts';
import { policyFileSchema } from './schema.ts';
import type { Policy } from './types.ts';
import { findConflicts, singleValued, type ParsedFile } from './merge.ts';

export interface PolicyLoadOptions {
  /** CIDRs from the config (upstream.allowPrivate) that every entry may resolve to. */
  readonly globalAllowPrivate: readonly string[];
  /** Agent ids from the config; ['default'] when none are configured. */
  readonly agents: readonly string[];
}

/** The load options a config implies: its private-address exemptions and its agent ids ("default" when none). */
export function policyLoadOptions(config: {
  readonly upstream: { readonly allowPrivate: readonly string[] };
  readonly agents: readonly { readonly id: string }[];
}): PolicyLoadOptions {
  const agents = config.agents.map((a) => a.id);
  return { globalAllowPrivate: config.upstream.allowPrivate, agents: agents.length > 0 ? agents : ['default'] };
}

export type PolicyLoadResult = { ok: true; policy: Policy } | { ok: false; problems: SourceProblem[] };

/**
 * Parsed files by path, reused when a file's text is unchanged: YAML parsing dominates reload time, and a
 * reload usually follows an edit to one file of many. Owned by one PolicyStore (no module-level cache).
 */
export type ParseCache = Map<string, { readonly text: string; readonly file: ParsedFile }>;

/** `path` is a YAML file or a directory whose top-level *.yaml / *.yml files are merged (tests/ is not read). */
export function loadPolicy(policyPath: string, options: PolicyLoadOptions, cache?: ParseCache): PolicyLoadResult {
  const listed = listPolicyFiles(policyPath);
  if (!listed.ok) return listed;
  const problems: SourceProblem[] = [];
  const parsed: ParsedFile[] = [];
  const seen: ParseCache = new Map();
  for (const file of listed.files) {
    const r = parseFile(file, cache);
    if (r.ok) {
      parsed.push(r.file);
      seen.set(file, { text: r.text, file: r.file });
    } else problems.push(...r.problems);
  }
  if (cache) {
    cache.clear();
    for (const [k, v] of seen) cache.set(k, v);
  }
  if (problems.length > 0) return { ok: false, problems };
  return compileFiles(parsed, listed.files, options);
}

/** The files a policy path stands for, sorted; hidden names (ConfigMap "..data", editor swap files) are skipped. */
export function listPolicyFiles(policyPath: string): { ok: true; files: string[] } | { ok: false; problems: SourceProblem[] } {
  const label = displayPath(policyPath);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(policyPath);
  } catch (e) {
    return { ok: false, problems: [{ file: label, line: 1, col: 1, message: `cannot read policy path: ${errnoCode(e)}` }] };
  }
  if (!stat.isDirectory()) return { ok: true, files: [policyPath] };
  const names = fs.readdirSync(policyPath).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'));
  const files = names
    .map((n) => path.join(policyPath, n))
    .filter((f) => {
      try {
        return fs.statSync(f).isFile();
      } catch {
        return false;
      }
    });
  return { ok: true, files: files.sort() };
}

function parseFile(file: string, cache: ParseCache | undefined): { ok: true; file: ParsedFile; text: string } | { ok: false; problems: SourceProblem[] } {
  const label = displayPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, problems: [{ file: label, line: 1, col: 1, message: `cannot read policy file: ${errnoCode(e)}` }] };
  }
  const cached = cache?.get(file);
  if (cached && cached.text === text && cached.file.source.file === label) return { ok: true, file: cached.file, text };
  const r = parseYaml(label, text);
  if (!r.ok) return r;
  const v = policyFileSchema.safeParse(r.source.value ?? {});
  if (!v.success) return { ok: false, problems: zodProblems(r.source, v.error) };
  return { ok: true, file: { source: r.source, data: v.data }, text };
}

function compileFiles(parsed: readonly ParsedFile[], files: readonly string[], options: PolicyLoadOptions): PolicyLoadResult {
  const problems: SourceProblem[] = [];
  const guard = singleValued<GuardSettingsInput>(parsed, 'guard', problems);
  const message = singleValued<string>(parsed, 'message', problems);
  const globalAllowPrivate = checkGlobalAllowPrivate(options.globalAllowPrivate, problems);
  const globalCredentialHeaders = [...new Set(parsed.flatMap((f) => f.data.credentialHeaders ?? []).map((h) => h.toLowerCase()))];
  const entries: CompiledEntry[] = [];
  for (const f of parsed) {
    (f.data.hosts ?? []).forEach((input, index) => {
      const r = compileEntry(input, {
        source: f.source,
        index,
        globalGuard: guard,
        globalAllowPrivate,
        globalCredentialHeaders,
        knownAgents: options.agents,
        unsafeAllowAll: f.data.unsafeAllowAll === true,
      });
      problems.push(...r.problems);
      if (r.entry) entries.push(r.entry);
    });
  }
  const merged = findConflicts(entries, problems);
  checkPlaceholders(parsed, merged, problems);
  if (problems.length > 0) return { ok: false, problems };
  const policy = createPolicy({
    entries: merged,
    guard: mergeGuardSettings(DEFAULT_GUARD_SETTINGS, guard),
    message: message ?? null,
    files: files.map(displayPath),
    globalAllowPrivate,
    globalCredentialHeaders,
  });
  return { ok: true, policy };
}

function checkGlobalAllowPrivate(list: readonly string[], problems: SourceProblem[]): string[] {
  const out: string[] = [];
  for (const c of list) {
    const r = parseCidrText(c);
    if (r.ok) out.push(r.text);
    else problems.push({ file: 'config', line: 1, col: 1, message: `upstream.allowPrivate: ${r.message}` });
  }
  return out;
}

// One placeholder standing for two different secrets would make substitution ambiguous: refuse it.
function checkPlaceholders(parsed: readonly ParsedFile[], entries: readonly CompiledEntry[], problems: SourceProblem[]): void {
  const owner = new Map<string, { secret: string; entry: CompiledEntry }>();
  for (const e of entries) {
    for (const c of [e.credential, ...(e.allow ?? []).map((r) => r.credential)]) {
      if (!c) continue;
      const prev = owner.get(c.placeholder);
      if (prev && prev.secret !== c.secret) {
        const source = parsed.find((f) => f.source.file === e.ref.file)?.source;
        const pos = source ? positionOf(source, ['hosts', e.ref.index]) : { line: e.ref.line, col: e.ref.col };
        problems.push({
          file: e.ref.file,
          ...pos,
          message: `placeholder "${c.placeholder}" already stands for secret "${prev.secret}" (${prev.entry.ref.file}:${prev.entry.ref.line}); give "${c.secret}" its own placeholder`,
        });
      } else if (!prev) owner.set(c.placeholder, { secret: c.secret, entry: e });
    }
  }
}

/** Paths in messages: relative to the working directory when inside it, so they read as "policies/dev.yaml". */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p);
}

function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}
