// The sluice.yaml schema: every key optional, defaults as in the contract (ARCHITECTURE.md).
import { z } from 'zod';

const listenEntry = z
  .string()
  .describe('"HOST:PORT" or "unix:/path/proxy.sock"; "#agent=ID" binds every client of this listener to one agent')
  .refine((s) => s.startsWith('unix:') || /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}(#agent=[\w.-]+)?$/.test(s), {
    message: 'expected "HOST:PORT" or "unix:/path", optionally followed by "#agent=ID"',
  });

const secretSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), path: z.string().describe('dotenv-style file, the format of secrets.example') }).strict(),
  z.object({ type: z.literal('env'), prefix: z.string().default('SLUICE_SECRET_') }).strict(),
  z.object({ type: z.literal('dir'), path: z.string().describe('one file per secret, named after the secret') }).strict(),
  z
    .object({
      type: z.literal('command'),
      command: z.array(z.string()).min(1).describe('argv; "{name}" in any element is replaced by the secret name'),
      timeoutMs: z.number().int().positive().default(5000),
      ttlSeconds: z.number().nonnegative().default(300),
    })
    .strict(),
  z
    .object({
      type: z.literal('vault'),
      address: z.string().url(),
      mount: z.string().default('secret'),
      path: z.string().default('').describe('prefix under the mount; the secret name is appended'),
      field: z.string().default('value'),
      namespace: z.string().optional(),
      tokenFile: z.string().optional(),
      tokenEnv: z.string().default('VAULT_TOKEN'),
      ttlSeconds: z.number().nonnegative().default(300),
      timeoutMs: z.number().int().positive().default(5000),
      caFile: z.string().optional(),
    })
    .strict(),
]);

export type SecretSourceConfig = z.infer<typeof secretSource>;

export const limitsSchema = z
  .object({
    headerTimeoutMs: z.number().int().positive().default(30_000),
    requestTimeoutMs: z.number().int().positive().default(300_000),
    upstreamConnectTimeoutMs: z.number().int().positive().default(10_000),
    upstreamHeadersTimeoutMs: z.number().int().positive().default(60_000),
    upstreamBodyTimeoutMs: z.number().int().positive().default(120_000),
    // A new intercepted tunnel opens its upstream connection while the agent's TLS handshake runs; unused for
    // this long, it is closed. 0 turns pre-connecting off.
    upstreamPreconnectMs: z.number().int().nonnegative().default(5_000),
    tunnelIdleTimeoutMs: z.number().int().positive().default(300_000),
    maxHeaderBytes: z.number().int().positive().default(32 * 1024),
    maxHeaderCount: z.number().int().positive().default(100),
    maxUrlLength: z.number().int().positive().default(8192),
    maxConnections: z.number().int().positive().default(4096),
    drainTimeoutMs: z.number().int().nonnegative().default(10_000),
    leafCacheSize: z.number().int().positive().default(1000),
    // Rate and concurrency limits (src/net/limits.ts); unset means unlimited. Over a limit: 429 with Retry-After.
    requestsPerMinutePerAgent: z.number().positive().optional().describe('requests per minute one agent may make'),
    requestsPerMinutePerHost: z.number().positive().optional().describe('requests per minute to one destination host, all agents together'),
    bytesPerMinutePerAgent: z.number().positive().optional().describe('request and response body bytes per minute per agent'),
    maxConnectionsPerAgent: z.number().int().positive().optional().describe('concurrent client connections per agent'),
    maxTunnelsPerAgent: z.number().int().positive().optional().describe('concurrent CONNECT tunnels per agent'),
    // Frequency anomalies, logged as {"msg":"alert"}; unset means no alert of that kind.
    alertNewHostsPerMinute: z.number().int().positive().optional().describe('alert when an agent asks for more new hosts than this in a minute'),
    alertDeniesPerMinute: z.number().int().positive().optional().describe('alert when an agent is denied more often than this in a minute'),
  })
  .strict();

export const configSchema = z
  .object({
    listen: z.array(listenEntry).min(1).default(['127.0.0.1:3128']),
    admin: z.string().nullable().default(null).describe('"HOST:PORT" for /healthz /readyz /metrics'),
    stateDir: z.string().default('.sluice'),
    ca: z
      .object({ cert: z.string().nullable().default(null), key: z.string().nullable().default(null) })
      .strict()
      .default({ cert: null, key: null }),
    policies: z.string().default('policies'),
    secrets: z.array(secretSource).default([
      { type: 'file', path: 'secrets.env' },
      { type: 'env', prefix: 'SLUICE_SECRET_' },
    ]),
    upstream: z
      .object({
        resolve: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).default({}),
        trustCa: z.array(z.string()).default([]),
        allowPrivate: z.array(z.string()).default([]),
      })
      .strict()
      .default({ resolve: {}, trustCa: [], allowPrivate: [] }),
    agents: z.array(z.object({ id: z.string().regex(/^[\w.-]+$/), token: z.string().min(16) }).strict()).default([]),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    limits: limitsSchema.default(limitsSchema.parse({})),
  })
  .strict();

export type SluiceConfig = z.infer<typeof configSchema>;
export type Limits = z.infer<typeof limitsSchema>;
