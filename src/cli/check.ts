// `sluice check`: validate the config and every policy file, print each problem as file:line:col: message.
// Exit 0 when valid, 1 on any problem, 2 on a usage error. Suitable for CI and pre-commit hooks.
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import { createLogger } from '../audit/index.ts';
import { findMissingSecrets } from '../secrets/check.ts';
import { ConfigError, formatProblem, type SourceProblem } from '../errors.ts';
import { displayPath, loadPolicy, policyLoadOptions, secretNames, type Policy } from '../policy/index.ts';
import { CONFIG_OPTION, configPath, parseCommandArgs } from './args.ts';

export const usage = `Usage: sluice check [--config FILE] [--require-secrets]

Validate sluice.yaml and the policies it names. Prints one "file:line:col: message" line per problem on
stderr and exits 1; prints a one-line summary and exits 0 when everything is valid. Secrets the policy
injects but no backend can read are reported as warnings (exit 1 with --require-secrets).
`;

export interface Loaded {
  readonly config: LoadedConfig;
  readonly policy: Policy;
}

/** Load config and policy, or the problems that stop them loading (config problems first). */
export function loadConfigAndPolicy(values: Record<string, unknown>): { ok: true; loaded: Loaded } | { ok: false; problems: readonly SourceProblem[] } {
  const { file, explicit } = configPath(values);
  let config: LoadedConfig;
  try {
    config = loadConfig(file, { required: explicit });
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, problems: e.problems };
    throw e;
  }
  const r = loadPolicy(config.policies, policyLoadOptions(config));
  if (!r.ok) return { ok: false, problems: r.problems };
  return { ok: true, loaded: { config, policy: r.policy } };
}

export function printProblems(problems: readonly SourceProblem[]): void {
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { ...CONFIG_OPTION, 'require-secrets': { type: 'boolean' } }, usage);
  if (!parsed) return 2;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`sluice check: unexpected argument "${parsed.positionals[0]}"\n\n${usage}`);
    return 2;
  }
  const r = loadConfigAndPolicy(parsed.values);
  if (!r.ok) {
    printProblems(r.problems);
    process.stderr.write(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found; nothing was changed.\n`);
    return 1;
  }
  const { config, policy } = r.loaded;
  const secrets = secretNames(policy);
  // Ask the configured backends for every secret the policy injects: a missing one means 503s for its host.
  const missing = await findMissingSecrets(config.secrets, secrets, createLogger('silent'));
  for (const name of missing) process.stderr.write(`warning: secret ${name} is not available from any configured backend; requests to its hosts will get 503\n`);
  const where = config.file === null ? 'default config' : displayPath(config.file);
  process.stdout.write(
    `ok: ${where}; ${policy.entryCount} host entr${policy.entryCount === 1 ? 'y' : 'ies'} in ${policy.files.length} policy file${policy.files.length === 1 ? '' : 's'} (${displayPath(config.policies)}); secrets: ${secrets.length > 0 ? secrets.join(', ') : 'none'}\n`,
  );
  return missing.length > 0 && parsed.values['require-secrets'] === true ? 1 : 0;
}
