// Guard settings as written in policies (global `guard:` and per-host `guard:`). The guard module owns this
// shape; the policy module validates it with this schema and merges it with mergeGuardSettings.
import { z } from 'zod';

const action = z.enum(['block', 'redact', 'log', 'off']);

export const guardSettingsSchema = z
  .object({
    request: z.enum(['on', 'off']).optional().describe('"off" opts this host out of request body scanning (audited)'),
    response: z.enum(['sanitize', 'annotate', 'block', 'log', 'off']).optional(),
    secrets: action.optional().describe('secret patterns in requests'),
    pii: z.record(z.string(), action).optional().describe('per PII kind: email, phone, card, iban, ssn, krrn, ip'),
    maxBufferedBytes: z.number().int().positive().optional(),
    maxDecodedBytes: z.number().int().positive().optional(),
    disableRules: z.array(z.string()).optional(),
    uploadDestination: z.boolean().optional().describe('large high-entropy uploads are expected here'),
    allowUnknownEncoding: z.boolean().optional(),
  })
  .strict();

export type GuardSettingsInput = z.infer<typeof guardSettingsSchema>;

export interface GuardSettings {
  readonly request: 'on' | 'off';
  readonly response: 'sanitize' | 'annotate' | 'block' | 'log' | 'off';
  readonly secrets: 'block' | 'redact' | 'log' | 'off';
  readonly pii: Readonly<Record<string, 'block' | 'redact' | 'log' | 'off'>>;
  readonly maxBufferedBytes: number;
  readonly maxDecodedBytes: number;
  readonly disableRules: readonly string[];
  readonly uploadDestination: boolean;
  readonly allowUnknownEncoding: boolean;
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = Object.freeze({
  request: 'on',
  response: 'sanitize',
  secrets: 'block',
  pii: Object.freeze({}),
  maxBufferedBytes: 1024 * 1024,
  maxDecodedBytes: 64 * 1024 * 1024,
  disableRules: Object.freeze([]) as readonly string[],
  uploadDestination: false,
  allowUnknownEncoding: false,
});

/** Later layers win key by key; pii maps merge per kind; disableRules accumulate. */
export function mergeGuardSettings(base: GuardSettings, ...layers: readonly (GuardSettingsInput | undefined)[]): GuardSettings {
  let out: GuardSettings = base;
  for (const l of layers) {
    if (!l) continue;
    out = {
      request: l.request ?? out.request,
      response: l.response ?? out.response,
      secrets: l.secrets ?? out.secrets,
      pii: { ...out.pii, ...(l.pii ?? {}) },
      maxBufferedBytes: l.maxBufferedBytes ?? out.maxBufferedBytes,
      maxDecodedBytes: l.maxDecodedBytes ?? out.maxDecodedBytes,
      disableRules: [...out.disableRules, ...(l.disableRules ?? [])],
      uploadDestination: l.uploadDestination ?? out.uploadDestination,
      allowUnknownEncoding: l.allowUnknownEncoding ?? out.allowUnknownEncoding,
    };
  }
  return Object.freeze(out);
}
