// `sluice placeholders`: the environment lines an operator pastes into the agent container (or passes with
// `docker run --env-file`), one per credential: `GITHUB_TOKEN=sluice:GITHUB_TOKEN`. They carry no secret.
import { CONFIG_OPTION, parseCommandArgs } from './args.ts';
import { loadConfigAndPolicy, printProblems } from './check.ts';
import type { CredentialSpec } from '../policy/types.ts';

export const usage = `Usage: sluice placeholders [--config FILE]

Print NAME=placeholder for every credential the policies can inject, for the agent's environment
(e.g. \`sluice placeholders > agent.env; docker run --env-file agent.env …\`). The agent sends the
placeholder; Sluice replaces it with the real value only on the host bound to that secret.
`;

/** One line per secret name; the first placeholder in policy order wins if a secret has several. */
export function placeholderLines(credentials: readonly CredentialSpec[]): { lines: string[]; conflicts: string[] } {
  const chosen = new Map<string, string>();
  const conflicts = new Set<string>();
  for (const c of credentials) {
    const seen = chosen.get(c.secret);
    if (seen === undefined) chosen.set(c.secret, c.placeholder);
    else if (seen !== c.placeholder) conflicts.add(c.secret);
  }
  const lines = [...chosen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, placeholder]) => `${name}=${placeholder}`);
  return { lines, conflicts: [...conflicts].sort() };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { ...CONFIG_OPTION }, usage);
  if (!parsed) return 2;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`sluice placeholders: unexpected argument "${parsed.positionals[0]}"\n\n${usage}`);
    return 2;
  }
  const r = loadConfigAndPolicy(parsed.values);
  if (!r.ok) {
    printProblems(r.problems);
    return 1;
  }
  const { lines, conflicts } = placeholderLines(r.loaded.policy.credentials);
  for (const name of conflicts) {
    process.stderr.write(`sluice placeholders: ${name} has more than one placeholder in the policies; printing the first\n`);
  }
  if (lines.length === 0) process.stderr.write('sluice placeholders: the policies inject no credentials\n');
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  return 0;
}
