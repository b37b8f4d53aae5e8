// A small Dockerfile reader for the lint test: instructions with continuation lines joined and comments
// dropped, exec-form arguments parsed as JSON. hadolint is not packaged for Debian or npm here.
import fs from 'node:fs';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
  /** The JSON array of an exec-form argument list (CMD ["a","b"]), or null for shell form. */
  readonly exec: string[] | null;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let buffer = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (buffer === '' && /^\s*(#|$)/.test(raw)) continue;
    if (buffer !== '' && /^\s*#/.test(raw)) continue;
    if (buffer === '') start = i + 1;
    if (/\\\s*$/.test(raw)) {
      buffer += `${raw.replace(/\\\s*$/, '')} `;
      continue;
    }
    buffer += raw;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(buffer)}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start, exec: execForm(m[2]!.trim()) });
    buffer = '';
  }
  if (buffer !== '') throw new Error('Dockerfile ends inside a continued line');
  return out;
}

/** The exec-form array of an argument string, also after HEALTHCHECK's options and its CMD keyword. */
export function execForm(args: string): string[] | null {
  const at = args.indexOf('[');
  if (at < 0) return null;
  try {
    const v = JSON.parse(args.slice(at)) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
}

export function readDockerfile(file: string): Instruction[] {
  return parseDockerfile(fs.readFileSync(file, 'utf8'));
}

/** Instructions of the last stage (what the image runs). */
export function finalStage(instructions: readonly Instruction[]): Instruction[] {
  let from = 0;
  instructions.forEach((ins, i) => {
    if (ins.keyword === 'FROM') from = i;
  });
  return instructions.slice(from);
}
