// `sluice scan`: run the guard on a body exactly as the proxy would for a host (same createGuard, same
// filters), for ops writing and testing rules. `--jsonl` scans a corpus in one process, one line per body.
import fs from 'node:fs';
import readline from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SluiceError } from '../errors.ts';
import { createGuard, DEFAULT_GUARD_SETTINGS, type BodyFilter, type ExchangeContext, type Finding, type Guard, type GuardSettings } from '../guard/index.ts';
import type { Decision, Policy } from '../policy/index.ts';
import { CONFIG_OPTION, parseCommandArgs } from './args.ts';
import { loadConfigAndPolicy, printProblems } from './check.ts';

export const usage = `Usage: sluice scan [--config FILE] --request|--response [--host H] [--content-type T] [--json] [FILE|-]
       sluice scan [--config FILE] --request|--response [--host H] --jsonl < lines.jsonl

Run the guard on a body as it would run for host H (default: scan.invalid) and print the verdict, the findings
(rule, kind, character offsets; never the matched text) and the body as it would be forwarded (empty when blocked).
Without --config the built-in defaults apply; with it, the host's merged guard settings from the policies.

  --content-type T  the body's Content-Type (default: text/plain; charset=utf-8)
  --json            one JSON object: {"verdict","findings":[{"rule","kind","start","end"}],"body"}
  --jsonl           batch: each stdin line {"text","contentType"?,"host"?} gives one output line as --json, in order

Exit status: 0 when every body was scanned (whatever the verdict), 1 when the config does not load or an input
line is not valid, 2 on a usage error.
`;

export interface ScanResult {
  readonly verdict: 'pass' | 'redact' | 'block';
  readonly findings: ReadonlyArray<{ rule: string; kind: string; start: number; end: number }>;
  readonly body: string;
}

interface Scanner {
  scan(text: string, contentType: string, host: string): Promise<ScanResult>;
}

/** Byte offsets in the UTF-8 body → string offsets in the text the caller gave. */
function charOffset(bytes: Buffer, byteOffset: number): number {
  return bytes.subarray(0, Math.min(byteOffset, bytes.length)).toString('utf8').length;
}

async function runFilter(filter: BodyFilter | null, text: string): Promise<ScanResult> {
  if (filter === null) return { verdict: 'pass', findings: [], body: text };
  const input = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let blocked = false;
  try {
    await pipeline(Readable.from([input]), filter.stream, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  } catch (e) {
    if (!(e instanceof SluiceError)) throw e;
    blocked = true;
  }
  const findings: readonly Finding[] = filter.findings?.() ?? [];
  const report = filter.report();
  return {
    verdict: blocked ? 'block' : report.verdict,
    findings: findings.map((f) => ({ rule: f.rule, kind: f.kind, start: charOffset(input, f.span[0]), end: charOffset(input, f.span[1]) })),
    body: blocked ? '' : Buffer.concat(out).toString('utf8'),
  };
}

function createScanner(direction: 'request' | 'response', policy: Policy | null): Scanner {
  const guard: Guard = createGuard({ knownSecrets: () => [], credentials: () => policy?.credentials ?? [], isHostAllowed: () => true });
  const settingsFor = (host: string): { settings: GuardSettings; decision: Decision | null } => {
    if (!policy) return { settings: DEFAULT_GUARD_SETTINGS, decision: null };
    const d = policy.decideHost('default', host, 443, 'https');
    return { settings: d.guard, decision: d };
  };
  return {
    async scan(text, contentType, host) {
      const { settings, decision } = settingsFor(host);
      const ctx: ExchangeContext = {
        agent: 'default',
        host,
        port: 443,
        method: 'POST',
        decision: { ...(decision ?? ({} as Decision)), guard: settings, credential: decision?.credential ?? null } as Decision,
      };
      const filter =
        direction === 'request' ? guard.requestBody(ctx, contentType, '') : guard.responseBody(ctx, { status: 200, headers: [['content-type', contentType]] });
      return runFilter(filter, text);
    },
  };
}

function printHuman(r: ScanResult): void {
  process.stdout.write(`verdict: ${r.verdict}\n`);
  for (const f of r.findings) process.stdout.write(`  ${f.rule} (${f.kind}) at ${f.start}-${f.end}\n`);
  process.stdout.write(`--- body ---\n${r.body}\n`);
}

async function runJsonl(scanner: Scanner, contentType: string, host: string): Promise<number> {
  let status = 0;
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let item: { text?: unknown; contentType?: unknown; host?: unknown };
    try {
      item = JSON.parse(line) as typeof item;
    } catch {
      item = {};
    }
    if (typeof item.text !== 'string') {
      status = 1;
      process.stdout.write(`${JSON.stringify({ error: 'each line must be a JSON object with a "text" string' })}\n`);
      continue;
    }
    const r = await scanner.scan(item.text, typeof item.contentType === 'string' ? item.contentType : contentType, typeof item.host === 'string' ? item.host : host);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  return status;
}

function readInput(file: string | undefined): string {
  return file === undefined || file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
}

export async function run(args: string[]): Promise<number> {
  const options = {
    ...CONFIG_OPTION,
    request: { type: 'boolean' },
    response: { type: 'boolean' },
    host: { type: 'string' },
    'content-type': { type: 'string' },
    json: { type: 'boolean' },
    jsonl: { type: 'boolean' },
  } as const;
  const parsed = parseCommandArgs(args, options, usage);
  if (!parsed) return 2;
  const v = parsed.values;
  const fail = (m: string) => (process.stderr.write(`sluice scan: ${m}\n\n${usage}`), 2);
  if (Boolean(v['request']) === Boolean(v['response'])) return fail('give exactly one of --request or --response');
  if (parsed.positionals.length > 1) return fail('at most one FILE');
  if (v['jsonl'] && parsed.positionals.length > 0) return fail('--jsonl reads stdin');
  let policy: Policy | null = null;
  if (typeof v['config'] === 'string') {
    const r = loadConfigAndPolicy(v);
    if (!r.ok) return printProblems(r.problems), 1;
    policy = r.loaded.policy;
  }
  const scanner = createScanner(v['request'] ? 'request' : 'response', policy);
  const contentType = typeof v['content-type'] === 'string' ? v['content-type'] : 'text/plain; charset=utf-8';
  const host = typeof v['host'] === 'string' ? v['host'].toLowerCase() : 'scan.invalid';
  if (v['jsonl']) return runJsonl(scanner, contentType, host);
  let text: string;
  try {
    text = readInput(parsed.positionals[0]);
  } catch (e) {
    process.stderr.write(`sluice scan: cannot read input: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  const r = await scanner.scan(text, contentType, host);
  if (v['json']) process.stdout.write(`${JSON.stringify(r)}\n`);
  else printHuman(r);
  return 0;
}
