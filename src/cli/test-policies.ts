// `sluice test [FILES…]`: run policy test fixtures ("this request → this decision") against the policies, so
// ops keep their intent under version control and CI notices when an edit changes it.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseYaml, positionOf, zodProblems } from '../config/index.ts';
import { SluiceError, type SourceProblem } from '../errors.ts';
import { describeRequest, displayPath } from '../policy/index.ts';
import { CONFIG_OPTION, parseCommandArgs } from './args.ts';
import { loadConfigAndPolicy, printProblems, type Loaded } from './check.ts';
import { agentFor, decideFor, parseRequest } from './explain.ts';

export const usage = `Usage: sluice test [--config FILE] [FILES…]

Run policy test fixtures against the policies. FILES default to <policies>/tests/*.yaml. A fixture:

  cases:
    - request: GET https://api.github.com/repos/acme/app   # METHOD URL, or CONNECT host:port
      expect: allow                                      # allow | deny | reject (400: malformed, refused before policy)
      agent: builder                                     # optional (required when the config defines agents)
      credential: GITHUB_TOKEN                           # optional: secret name injected, or "none"
      mode: inspect                                      # optional: inspect | tunnel
      reason: "allows only GET"                          # optional: text the reason must contain

Prints one line per case and a final "N passed, N failed" line. Exit 0 when all pass, 1 on any failure or
broken fixture or policy, 2 on a usage error.
`;

const caseSchema = z
  .object({
    request: z.string().min(1).describe('"METHOD URL", e.g. "GET https://api.github.com/user"'),
    expect: z.enum(['allow', 'deny', 'reject']),
    agent: z.string().optional(),
    credential: z.string().nullable().optional().describe('secret name, or "none"/null for no credential'),
    mode: z.enum(['inspect', 'tunnel']).optional(),
    reason: z.string().optional(),
    name: z.string().optional(),
  })
  .strict();
type Case = z.infer<typeof caseSchema>;

const fixtureSchema = z.object({ cases: z.array(caseSchema).default([]) }).strict();

interface Tally {
  passed: number;
  failed: number;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { ...CONFIG_OPTION }, usage);
  if (!parsed) return 2;
  const r = loadConfigAndPolicy(parsed.values);
  if (!r.ok) {
    printProblems(r.problems);
    return 1;
  }
  const files = parsed.positionals.length > 0 ? parsed.positionals : defaultFixtures(r.loaded.config.policies);
  if (files.length === 0) process.stderr.write(`sluice test: no fixtures found in ${displayPath(fixtureDir(r.loaded.config.policies))}\n`);
  const tally: Tally = { passed: 0, failed: 0 };
  let broken = false;
  for (const file of files) {
    const problems = runFixture(file, r.loaded, tally);
    if (problems.length > 0) {
      printProblems(problems);
      broken = true;
    }
  }
  process.stdout.write(`${tally.passed} passed, ${tally.failed} failed\n`);
  return tally.failed > 0 || broken ? 1 : 0;
}

function fixtureDir(policies: string): string {
  const isDir = fs.existsSync(policies) && fs.statSync(policies).isDirectory();
  return path.join(isDir ? policies : path.dirname(policies), 'tests');
}

function defaultFixtures(policies: string): string[] {
  const dir = fixtureDir(policies);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

function runFixture(file: string, loaded: Loaded, tally: Tally): SourceProblem[] {
  const label = displayPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return [{ file: label, line: 1, col: 1, message: `cannot read fixture: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }];
  }
  const doc = parseYaml(label, text);
  if (!doc.ok) return doc.problems;
  const v = fixtureSchema.safeParse(doc.source.value ?? {});
  if (!v.success) return zodProblems(doc.source, v.error);
  v.data.cases.forEach((c, i) => {
    const { line } = positionOf(doc.source, ['cases', i]);
    const failure = checkCase(c, loaded);
    const title = c.name ? `${c.request} (${c.name})` : c.request;
    if (failure === null) {
      tally.passed += 1;
      process.stdout.write(`PASS ${label}:${line}  ${title} → ${c.expect}\n`);
    } else {
      tally.failed += 1;
      process.stdout.write(`FAIL ${label}:${line}  ${title}: ${failure}\n`);
    }
  });
  return [];
}

/** Null when the case passes, else why it failed. */
function checkCase(c: Case, loaded: Loaded): string | null {
  const space = c.request.indexOf(' ');
  if (space === -1) return `"request" must be "METHOD URL"`;
  let query;
  try {
    query = parseRequest(c.request.slice(0, space), c.request.slice(space + 1).trim());
  } catch (e) {
    if (!(e instanceof SluiceError)) throw e;
    return c.expect === 'reject' ? null : `expected ${c.expect}, but the request is refused as malformed: ${e.message}`;
  }
  if (c.expect === 'reject') return 'expected the request to be refused as malformed, but it parses';
  const who = agentFor(loaded, c.agent);
  if ('error' in who) return who.error;
  const d = decideFor(loaded.policy, who.agent, query);
  const got = d.credential?.secret ?? 'none';
  if (d.verdict !== c.expect) return `expected ${c.expect}, got ${d.verdict}: ${d.reason}`;
  if (c.credential !== undefined && (c.credential ?? 'none') !== got) return `expected credential ${c.credential ?? 'none'}, got ${got} (${describeRequest(d.query)})`;
  if (c.mode !== undefined && c.mode !== d.mode) return `expected mode ${c.mode}, got ${d.mode}`;
  if (c.reason !== undefined && !d.reason.includes(c.reason)) return `expected the reason to contain ${JSON.stringify(c.reason)}, got: ${d.reason}`;
  return null;
}
