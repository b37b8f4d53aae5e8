// The shape of one policy file, as ops write it. Strict everywhere: an unknown key (`alow:`) is an error, because
// a typo that silently allows nothing or everything is the worst failure a policy language can have.
// Semantic checks that need more than one field (hosts, globs, CIDRs, conflicts) live in compile-entry.ts.
import { z } from 'zod';
import { guardSettingsSchema } from '../guard/settings.ts';

// RFC 9110 method token, upper case only: methods are matched case-sensitively (THREATS 2.10), so "get" would
// never match anything and is almost certainly a mistake.
const method = z
  .string()
  .regex(/^[A-Z][A-Z0-9_-]*$/, { message: 'methods are case-sensitive upper-case HTTP methods such as "GET"' })
  .describe('an HTTP method, e.g. GET');

const pathGlob = z.string().min(1).describe('a path glob matched against the normalised path, e.g. "/repos/**"');

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'not a valid HTTP header name' })
  .describe('an HTTP header name');

const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, { message: 'secret names use letters, digits, "_", "." and "-"' })
  .describe('the secret name in the secrets backends');

export const credentialSchema = z
  .object({
    secret: secretName,
    type: z
      .enum(['bearer', 'basic', 'header', 'query'])
      .optional()
      .describe('shorthand: bearer (Authorization: Bearer), basic (with username), header (raw value in `header`), query (`query` parameter)'),
    username: z
      .string()
      .regex(/^[^:{}\s]+$/, { message: 'a Basic username cannot contain ":", "{", "}" or spaces' })
      .optional()
      .describe('for type: basic'),
    header: headerName.optional(),
    format: z.string().optional().describe('the header value; {secret} is replaced by the secret'),
    placeholder: z.string().min(8).nullable().optional().describe('the stand-in the agent is given; default sluice:SECRET'),
    in: z.enum(['header', 'query']).optional(),
    query: z.string().regex(/^[\w.~-]+$/, { message: 'not a plain query parameter name' }).optional(),
  })
  .strict();
export type CredentialInput = z.infer<typeof credentialSchema>;

const cidrList = z.array(z.string()).describe('CIDRs, e.g. 10.1.2.0/24');

export const allowRuleSchema = z
  .object({
    methods: z.array(method).min(1).optional().describe('absent: any method'),
    paths: z.array(pathGlob).min(1).optional().describe('absent: any path'),
    credential: credentialSchema.optional().describe('overrides the entry credential for requests this rule allows'),
    guard: guardSettingsSchema.optional(),
  })
  .strict();
export type AllowRuleInput = z.infer<typeof allowRuleSchema>;

export const denyRuleSchema = z
  .object({
    methods: z.array(method).min(1).optional(),
    paths: z.array(pathGlob).min(1).optional(),
  })
  .strict();
export type DenyRuleInput = z.infer<typeof denyRuleSchema>;

export const hostEntrySchema = z
  .object({
    host: z.string().min(1).describe('exact name, "*.suffix", IP literal or CIDR'),
    ports: z.array(z.number({ message: 'a port is a number from 1 to 65535' }).int({ message: 'a port is a whole number from 1 to 65535' }).min(1, { message: 'a port is a number from 1 to 65535' }).max(65535, { message: 'a port is a number from 1 to 65535' })).min(1).optional().describe('default: 443 for https, 80 for http'),
    mode: z.enum(['inspect', 'tunnel']).optional(),
    agents: z.array(z.string().regex(/^[\w.-]+$/)).min(1).optional(),
    allow: z.array(allowRuleSchema).min(1).optional().describe('absent: any method and path'),
    deny: z.array(denyRuleSchema).min(1).optional().describe('beats allow'),
    credential: credentialSchema.optional(),
    allowPrivate: cidrList.optional(),
    guard: guardSettingsSchema.optional(),
    message: z.string().min(1).max(500).optional(),
    websocket: z.boolean().optional(),
    credentialHeaders: z.array(headerName).optional(),
  })
  .strict();
export type HostEntryInput = z.infer<typeof hostEntrySchema>;

export const policyFileSchema = z
  .object({
    hosts: z.array(hostEntrySchema).optional(),
    guard: guardSettingsSchema.optional(),
    message: z.string().min(1).max(500).optional(),
    credentialHeaders: z.array(headerName).optional(),
    unsafeAllowAll: z.boolean().optional().describe('required for a bare "*" host'),
  })
  .strict();
export type PolicyFileInput = z.infer<typeof policyFileSchema>;
