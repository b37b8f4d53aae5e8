// Placeholder guard until the pipeline lands: passes everything. Replaced by the real createGuard.
import type { CredentialSpec } from '../policy/types.ts';
import type { SecretValue } from '../secrets/types.ts';
import type { Guard } from './types.ts';

export interface GuardDeps {
  /** Every secret value Sluice can inject (for the known-secret stage and echo redaction). */
  readonly knownSecrets: () => readonly SecretValue[];
  /** Every credential the current policy can inject (placeholders). */
  readonly credentials: () => readonly CredentialSpec[];
  /** Whether the current policy allows a host (markdown link defanging). */
  readonly isHostAllowed: (host: string) => boolean;
}

export function createGuard(_deps: GuardDeps): Guard {
  return {
    checkRequestHead: (_ctx, head) => ({ report: { verdict: 'pass', findings: [] }, head }),
    requestBody: () => null,
    checkResponseHead: (_ctx, head) => ({ report: { verdict: 'pass', findings: [] }, head }),
    responseBody: () => null,
  };
}

export type * from './types.ts';
export { guardSettingsSchema, mergeGuardSettings, DEFAULT_GUARD_SETTINGS, type GuardSettings, type GuardSettingsInput } from './settings.ts';
