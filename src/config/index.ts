export { loadConfig, type LoadedConfig } from './load.ts';
export { configSchema, type SluiceConfig, type Limits, type SecretSourceConfig } from './schema.ts';
export { parseYaml, zodProblems, positionOf, describePath, type YamlSource } from './yaml-source.ts';
