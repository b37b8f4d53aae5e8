import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { configSchema, type SluiceConfig } from './schema.ts';
import { parseYaml, zodProblems } from './yaml-source.ts';

export interface LoadedConfig extends SluiceConfig {
  /** The file the config came from (null when defaults were used). */
  readonly file: string | null;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
}

/**
 * Load and validate sluice.yaml. A missing file with no explicit --config means "all defaults" (so
 * `npm start` works on a fresh clone); relative paths resolve against the config file's directory.
 */
export function loadConfig(file: string | null, options: { required?: boolean } = {}): LoadedConfig {
  if (file === null || (!options.required && !fs.existsSync(file))) {
    return resolvePaths({ ...configSchema.parse({}), file: null, baseDir: process.cwd() });
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, line: 1, col: 1, message: `cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  const parsed = parseYaml(file, text);
  if (!parsed.ok) throw new ConfigError(parsed.problems);
  const result = configSchema.safeParse(parsed.source.value ?? {});
  if (!result.success) throw new ConfigError(zodProblems(parsed.source, result.error));
  return resolvePaths({ ...result.data, file, baseDir: path.dirname(path.resolve(file)) });
}

function resolvePaths(c: LoadedConfig): LoadedConfig {
  const abs = (p: string) => path.resolve(c.baseDir, p);
  return {
    ...c,
    stateDir: abs(c.stateDir),
    policies: abs(c.policies),
    ca: { cert: c.ca.cert === null ? null : abs(c.ca.cert), key: c.ca.key === null ? null : abs(c.ca.key) },
    listen: c.listen.map((l) => (l.startsWith('unix:') ? `unix:${abs(l.slice(5))}` : l)),
    secrets: c.secrets.map((s) => {
      if (s.type === 'file' || s.type === 'dir') return { ...s, path: abs(s.path) };
      if (s.type === 'vault') return { ...s, ...(s.tokenFile ? { tokenFile: abs(s.tokenFile) } : {}), ...(s.caFile ? { caFile: abs(s.caFile) } : {}) };
      return s;
    }),
    upstream: { ...c.upstream, trustCa: c.upstream.trustCa.map(abs) },
  };
}
