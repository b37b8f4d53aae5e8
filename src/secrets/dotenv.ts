// The dotenv dialect of secrets.example: `NAME=value`, `export NAME=value`, # comments, single quotes
// (literal), double quotes (\n \r \t \" \\ escapes, may span lines for PEM blocks), unquoted values trimmed
// with ` #` starting a comment. Errors name the line, never the value.

export interface DotenvProblem {
  readonly line: number;
  readonly message: string;
}

export interface DotenvResult {
  readonly values: Map<string, string>;
  /** Lines that could not be read: the file as a whole is not trusted. */
  readonly problems: readonly DotenvProblem[];
  /** Readable but suspicious (a name defined twice). */
  readonly warnings: readonly DotenvProblem[];
}

const KEY = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

export function parseDotenv(text: string): DotenvResult {
  const values = new Map<string, string>();
  const problems: DotenvProblem[] = [];
  const warnings: DotenvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    const line = lines[i]!;
    i++;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = KEY.exec(trimmed);
    if (!m) {
      problems.push({ line: lineNo, message: 'expected NAME=value' });
      continue;
    }
    const name = m[1]!;
    const rest = trimmed.slice(m[0].length);
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const parsed = readQuoted(quote, rest.slice(1), lines, i);
      if (!parsed) {
        problems.push({ line: lineNo, message: `unterminated ${quote === '"' ? 'double' : 'single'}-quoted value for ${name}` });
        break;
      }
      i = parsed.nextLine;
      if (!/^\s*(#.*)?$/.test(parsed.trailing)) problems.push({ line: lineNo, message: `unexpected text after the closing quote of ${name}` });
      else set(values, warnings, name, parsed.value, lineNo);
      continue;
    }
    set(values, warnings, name, rest.replace(/\s+#.*$/, '').trim(), lineNo);
  }
  return { values, problems, warnings };
}

function set(values: Map<string, string>, warnings: DotenvProblem[], name: string, value: string, line: number): void {
  if (values.has(name)) warnings.push({ line, message: `${name} is defined twice; the last definition wins` });
  values.set(name, value);
}

/** Reads a quoted value starting after the opening quote; may continue on the following lines. */
function readQuoted(
  quote: string,
  first: string,
  lines: readonly string[],
  next: number,
): { value: string; trailing: string; nextLine: number } | null {
  let text = first;
  let lineIndex = next;
  for (;;) {
    const end = findClosingQuote(text, quote);
    if (end >= 0) {
      const body = text.slice(0, end);
      const value = quote === "'" ? body : body.replace(/\\(.)/gs, (all, c: string) => ESCAPES[c] ?? all);
      return { value, trailing: text.slice(end + 1), nextLine: lineIndex };
    }
    if (lineIndex >= lines.length) return null;
    text += '\n' + lines[lineIndex]!;
    lineIndex++;
  }
}

function findClosingQuote(text: string, quote: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') i++;
    else if (c === quote) return i;
  }
  return -1;
}
