// Merging several policy files. Two entries for the same host pattern may coexist only when they cannot both
// apply to one request (disjoint ports or agents) or say exactly the same thing; otherwise the policy would
// depend on file order, so the load fails naming both places.
import { isDeepStrictEqual } from 'node:util';
import type { SourceProblem } from '../errors.ts';
import { positionOf, type YamlSource } from '../config/index.ts';
import type { CompiledEntry } from './compile-entry.ts';
import type { PolicyFileInput } from './schema.ts';

export interface ParsedFile {
  readonly source: YamlSource;
  readonly data: PolicyFileInput;
}

export function findConflicts(entries: readonly CompiledEntry[], problems: SourceProblem[]): CompiledEntry[] {
  const groups = new Map<string, CompiledEntry[]>();
  const kept: CompiledEntry[] = [];
  for (const e of entries) {
    const group = groups.get(e.ref.pattern) ?? [];
    const clash = group.find((g) => overlaps(g, e));
    if (!clash) {
      group.push(e);
      groups.set(e.ref.pattern, group);
      kept.push(e);
      continue;
    }
    if (clash.fingerprint === e.fingerprint && sameSets(clash, e)) continue; // an exact duplicate adds nothing
    problems.push({
      file: e.ref.file,
      line: e.ref.line,
      col: e.ref.col,
      message: `host "${e.ref.pattern}" is also defined at ${clash.ref.file}:${clash.ref.line}:${clash.ref.col} with different settings for the same ports and agents; merge the two entries or give them disjoint "ports" or "agents"`,
    });
  }
  return kept;
}

function effectivePorts(e: CompiledEntry): ReadonlySet<number> {
  return e.ports ?? new Set([80, 443]);
}

function overlaps(a: CompiledEntry, b: CompiledEntry): boolean {
  const pa = effectivePorts(a);
  const portClash = [...effectivePorts(b)].some((p) => pa.has(p));
  const agentClash = a.agents === null || b.agents === null || [...b.agents].some((x) => a.agents?.has(x));
  return portClash && agentClash;
}

function sameSets(a: CompiledEntry, b: CompiledEntry): boolean {
  const norm = (s: ReadonlySet<unknown> | null) => (s === null ? null : [...s].sort());
  return isDeepStrictEqual(norm(a.ports), norm(b.ports)) && isDeepStrictEqual(norm(a.agents), norm(b.agents));
}

/** A top-level setting (guard, message) may be written in several files only if every copy is identical. */
export function singleValued<T>(parsed: readonly ParsedFile[], key: keyof PolicyFileInput, problems: SourceProblem[]): T | undefined {
  let first: { file: ParsedFile; value: unknown } | null = null;
  for (const f of parsed) {
    const value = f.data[key];
    if (value === undefined) continue;
    if (first === null) {
      first = { file: f, value };
      continue;
    }
    if (!isDeepStrictEqual(first.value, value)) {
      const here = positionOf(f.source, [key], true);
      const there = positionOf(first.file.source, [key], true);
      problems.push({
        file: f.source.file,
        ...here,
        message: `top-level "${key}" is also set at ${first.file.source.file}:${there.line}:${there.col} with a different value; keep it in one file`,
      });
    }
  }
  return first?.value as T | undefined;
}
