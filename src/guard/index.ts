// The guard module's public face: createGuard for the composition root, the settings schema for the policy
// loader, and the shapes forward/ talks in.
import { GuardBlockedError } from '../errors.ts';
import type { CredentialSpec } from '../policy/types.ts';
import type { SecretValue } from '../secrets/types.ts';
import { createPipelineGuard } from './pipeline.ts';
import { loadDefaultRulePack, type CompiledRule } from './rules/pack.ts';
import type { Guard, GuardReport } from './types.ts';

export interface GuardDeps {
  /** Every secret value Sluice can inject (for the known-secret stage and echo redaction). */
  readonly knownSecrets: () => readonly SecretValue[];
  /** Every credential the current policy can inject (placeholders). */
  readonly credentials: () => readonly CredentialSpec[];
  /** Whether the current policy allows a host (markdown link defanging). */
  readonly isHostAllowed: (host: string) => boolean;
  /** The secret rule pack (default: rules/secrets.yaml, compiled once per process). */
  readonly rulePack?: readonly CompiledRule[];
  /** Streaming window size in characters (tests use small windows). */
  readonly windowSize?: number;
}

let defaultPack: readonly CompiledRule[] | null = null;

/** The built-in pack is immutable data: compiling it once per process is safe for side-by-side Sluices. */
export function defaultRulePack(): readonly CompiledRule[] {
  defaultPack ??= loadDefaultRulePack();
  return defaultPack;
}

export function createGuard(deps: GuardDeps): Guard {
  return createPipelineGuard({
    knownSecrets: deps.knownSecrets,
    credentials: deps.credentials,
    isHostAllowed: deps.isHostAllowed,
    rulePack: deps.rulePack ?? defaultRulePack(),
    ...(deps.windowSize !== undefined ? { windowSize: deps.windowSize } : {}),
  });
}

/** The 403 for a head or body report whose verdict is block (findings carry rule and kind only). */
export function guardBlockedError(report: GuardReport): GuardBlockedError {
  const blocks = report.findings.filter((f) => f.action === 'block');
  const kinds = [...new Set(blocks.map((f) => f.kind))].join(', ');
  return new GuardBlockedError(
    `The request was blocked by Sluice's guard because it appears to contain ${kinds || 'sensitive data'} (in the ${[...new Set(blocks.map((f) => f.location))].join(', ') || 'request'}). Remove it, or use the placeholder Sluice gave you instead of a real credential.`,
    blocks.map((f) => ({ rule: f.rule, kind: f.kind })),
  );
}

export type * from './types.ts';
export { guardSettingsSchema, mergeGuardSettings, DEFAULT_GUARD_SETTINGS, type GuardSettings, type GuardSettingsInput, type CustomRule } from './settings.ts';
export { RulePackError, compileRulePack, type CompiledRule } from './rules/pack.ts';
