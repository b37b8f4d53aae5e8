export { createSecretStore, createSource, createStoreFromSources, type SecretStore } from './store.ts';
export { SecretValue, SecretSourceError, type SecretSource, type SecretStoreOptions } from './types.ts';
export { isValidSecretName, MIN_KNOWN_SECRET_LENGTH } from './names.ts';
export { parseDotenv, type DotenvResult } from './dotenv.ts';
export { findMissingSecrets } from './check.ts';
