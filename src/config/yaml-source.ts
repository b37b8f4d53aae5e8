// Parse YAML with the document API so every validation problem can be reported as file:line:col.
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Document, type Node } from 'yaml';
import type { ZodError } from 'zod';
import type { SourceProblem } from '../errors.ts';

export interface YamlSource {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  /** The plain JS value (undefined for an empty file). */
  readonly value: unknown;
}

export type ParseResult = { ok: true; source: YamlSource } | { ok: false; problems: SourceProblem[] };

export function parseYaml(file: string, text: string): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, message: `YAML syntax: ${firstLine(e.message)}` };
      }),
    };
  }
  let value: unknown;
  try {
    // toJS throws on an alias to an anchor that does not exist (`hosts: *a`) and on alias bombs; both are
    // located problems in the file, never an exception that could take down a live reload.
    value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    const pos = lines.linePos(aliasOffset(doc) ?? 0);
    return { ok: false, problems: [{ file, line: pos.line, col: pos.col, message: `YAML: ${firstLine((e as Error).message)}` }] };
  }
  return { ok: true, source: { file, doc, lines, value } };
}

/** Where the first alias in the document is (the usual culprit when toJS fails). */
function aliasOffset(doc: Document): number | null {
  let found: number | null = null;
  visit(doc, {
    Alias(_key, node) {
      found = node.range?.[0] ?? null;
      return visit.BREAK;
    },
  });
  return found;
}

/** The node at a path, or the deepest existing ancestor (for "missing key" problems). */
export function nodeAt(doc: Document, path: readonly PropertyKey[]): { node: Node | null; key: boolean } {
  let current: unknown = doc.contents;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node: current as Node, key: false };
      // Point unknown-key problems at the key itself, value problems at the value.
      current = pair.value ?? pair.key;
      if (segment === path[path.length - 1] && pair.value == null) return { node: pair.key as Node, key: true };
    } else if (isSeq(current)) {
      const item = current.items[Number(segment)];
      if (item === undefined) return { node: current as Node, key: false };
      current = item;
    } else {
      break;
    }
  }
  return { node: (current as Node | null) ?? null, key: false };
}

export function positionOf(source: YamlSource, path: readonly PropertyKey[], preferKey = false): { line: number; col: number } {
  let node: Node | null = null;
  if (preferKey && path.length > 0) {
    const parent = nodeAt(source.doc, path.slice(0, -1)).node;
    if (isMap(parent)) {
      const last = path[path.length - 1];
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(last));
      if (pair && isScalar(pair.key)) node = pair.key as Node;
    }
  }
  node ??= nodeAt(source.doc, path).node;
  const offset = node?.range?.[0] ?? 0;
  const pos = source.lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** Map zod issues to located problems, naming the offending value. */
export function zodProblems(source: YamlSource, error: ZodError, base: readonly PropertyKey[] = []): SourceProblem[] {
  const problems: SourceProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...base, ...issue.path, key];
        const { line, col } = positionOf(source, path, true);
        const hint = suggestionFor(key);
        problems.push({ file: source.file, line, col, message: `unknown key "${key}" at ${describePath(path)}${hint}` });
      }
      continue;
    }
    const path = [...base, ...issue.path];
    const { line, col } = positionOf(source, path);
    const value = valueAt(source.value, path);
    const shown = value === undefined ? '' : ` (got ${truncate(JSON.stringify(value))})`;
    problems.push({ file: source.file, line, col, message: `${describePath(path)}: ${issue.message}${shown}` });
  }
  return problems;
}

export function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const KNOWN_TYPOS: Record<string, string> = { alow: 'allow', allows: 'allow', port: 'ports', method: 'methods', path: 'paths', hostname: 'host', agent: 'agents' };
function suggestionFor(key: string): string {
  const s = KNOWN_TYPOS[key];
  return s ? ` (did you mean "${s}"?)` : '';
}

function truncate(s: string | undefined): string {
  if (s === undefined) return 'undefined';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
