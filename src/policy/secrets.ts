// The hook `sluice check` (and the secrets module) use to list what a policy needs from the secrets backends.
import type { Policy } from './types.ts';

/** Every secret name any entry or rule of the policy can inject, sorted and unique. */
export function secretNames(policy: Policy): string[] {
  return [...new Set(policy.credentials.map((c) => c.secret))].sort();
}
