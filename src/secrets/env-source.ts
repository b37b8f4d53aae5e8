// `type: env`: SLUICE_SECRET_GITHUB_TOKEN serves GITHUB_TOKEN. Read at each get, so a supervisor that
// re-executes Sluice with a new environment is the only way to rotate it; never down.
import type { SecretSource } from './types.ts';

export function createEnvSource(prefix: string, env: NodeJS.ProcessEnv): SecretSource {
  return {
    kind: 'env',
    async get(name) {
      const v = env[prefix + name];
      return v === undefined || v === '' ? undefined : v;
    },
    async healthy() {
      return true;
    },
    async close() {},
  };
}
