// `type: env`: SLUICE_SECRET_GITHUB_TOKEN serves GITHUB_TOKEN. The prefixed variables are read once, when the
// backend is made: a running process's environment changes only by its own hand, so a supervisor that
// re-executes Sluice with a new environment is the way to rotate them, as before. Reading `process.env` is a
// call into the runtime on every access (0.6% of Sluice's CPU samples under the c=32 small-GET load, one read per
// request with a credential); a Map is not. Never down.
import type { SecretSource } from './types.ts';

export function createEnvSource(prefix: string, env: NodeJS.ProcessEnv): SecretSource {
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(prefix) && value !== undefined && value !== '') values.set(key.slice(prefix.length), value);
  }
  return {
    kind: 'env',
    async get(name) {
      return values.get(name);
    },
    async healthy() {
      return true;
    },
    async close() {},
  };
}
