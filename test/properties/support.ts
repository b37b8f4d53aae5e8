// Shared by the property suites: a real policy loaded from YAML in a temp dir, the real guard built as server.ts
// builds it, and a helper that writes a body into a filter in the chunks a property chose.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { createGuard } from '../../src/guard/index.ts';
import type { ExchangeContext, Guard } from '../../src/guard/types.ts';
import { loadPolicy, type Policy } from '../../src/policy/index.ts';
import { SecretValue } from '../../src/secrets/index.ts';

export const SECRET = 'ghs_PropertySecretValue0123456789abcdefQ';

export function policyFrom(yaml: string): Policy {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-prop-policy-'));
  try {
    fs.writeFileSync(path.join(dir, 'p.yaml'), yaml);
    const r = loadPolicy(dir, { globalAllowPrivate: [], agents: ['default'] });
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
    return r.policy;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface GuardFixture {
  readonly guard: Guard;
  readonly policy: Policy;
  /** An exchange to a host that has no credential (the secret must not go there). */
  exchange(host?: string, method?: string): ExchangeContext;
}

export function guardFixture(windowSize?: number): GuardFixture {
  const policy = policyFrom(`hosts:\n  - host: bound.test\n    credential: { secret: PROP_TOKEN }\n  - host: other.test\n`);
  const secrets = [new SecretValue('PROP_TOKEN', SECRET)];
  const guard = createGuard({
    knownSecrets: () => secrets,
    credentials: () => policy.credentials,
    isHostAllowed: (h) => policy.isHostAllowed(h),
    ...(windowSize !== undefined ? { windowSize } : {}),
  });
  return {
    guard,
    policy,
    exchange(host = 'other.test', method = 'POST') {
      const decision = policy.decide({ agent: 'default', host, port: 443, method, path: '/', scheme: 'https' });
      return { agent: 'default', host, port: 443, method, decision };
    },
  };
}

/** Cut `bytes` at the given fractions (0..1), write the pieces, and collect output or the error. */
export async function drive(stream: Transform, bytes: Buffer, cuts: readonly number[]): Promise<{ out: Buffer; error: Error | null }> {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let error: Error | null = null;
  stream.on('data', (c: Buffer) => out.push(Buffer.from(c)));
  const done = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', (e: Error) => {
      error = e;
      resolve();
    });
  });
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (error) break;
    const ok = stream.write(bytes.subarray(at, p));
    at = p;
    if (!ok && !error) await new Promise((r) => setImmediate(r));
  }
  if (!error) stream.end();
  await done;
  return { out: Buffer.concat(out), error };
}
