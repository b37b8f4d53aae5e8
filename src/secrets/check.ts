// For `sluice check` and startup: which of the secrets a policy names cannot be read right now. Opens the
// backends, asks once, closes them; names only, never values.
import type { Logger } from '../audit/index.ts';
import type { SecretSourceConfig } from '../config/schema.ts';
import { createSecretStore } from './store.ts';
import type { SecretStoreOptions } from './types.ts';

export async function findMissingSecrets(
  configs: readonly SecretSourceConfig[],
  names: readonly string[],
  log: Logger,
  options: SecretStoreOptions = {},
): Promise<string[]> {
  const store = createSecretStore(configs, log, options);
  try {
    return (await store.prime(names)).missing;
  } finally {
    await store.close();
  }
}
