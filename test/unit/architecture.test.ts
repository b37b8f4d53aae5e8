// STYLE.md's layering, checked on the real import graph: the lower layers never import forward/ or net/, and
// there are no import cycles between files.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec) out.push(path.resolve(path.dirname(file), spec));
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
const folder = (f: string) => path.relative(SRC, f).split(path.sep)[0]!;

describe('architecture', () => {
  it('policy/, guard/, secrets/ and audit/ never import forward/ or net/', () => {
    const violations: string[] = [];
    for (const [file, targets] of graph) {
      if (!['policy', 'guard', 'secrets', 'audit'].includes(folder(file))) continue;
      for (const t of targets) if (['forward', 'net'].includes(folder(t))) violations.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, t)}`);
    }
    expect(violations).toEqual([]);
  });

  it('has no import cycles between source files', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(SRC, x)).join(' -> '));
        return;
      }
      state.set(f, 'visiting');
      for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('sees the real graph (the check would notice an import)', () => {
    expect(graph.get(path.join(SRC, 'server.ts'))!.length).toBeGreaterThan(10);
  });
});
