// Load a policy from YAML text through the real loader (temp files, removed at once: loading is synchronous).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy, type Policy, type PolicyLoadOptions, type PolicyLoadResult } from '../../../src/policy/index.ts';
import type { Decision } from '../../../src/policy/types.ts';

export const OPTIONS: PolicyLoadOptions = { globalAllowPrivate: [], agents: ['default', 'builder', 'reviewer'] };

export function loadFiles(files: Record<string, string>, options: PolicyLoadOptions = OPTIONS): PolicyLoadResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-policy-'));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return loadPolicy(dir, options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function policyOf(yaml: string, options: PolicyLoadOptions = OPTIONS): Policy {
  const r = loadFiles({ 'p.yaml': yaml }, options);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join('\n'));
  return r.policy;
}

export function problemsOf(files: Record<string, string> | string, options: PolicyLoadOptions = OPTIONS): string[] {
  const r = loadFiles(typeof files === 'string' ? { 'p.yaml': files } : files, options);
  if (r.ok) throw new Error('expected the policy to be refused');
  return r.problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`);
}

export interface Req {
  method?: string;
  host: string;
  port?: number;
  path?: string;
  agent?: string;
  scheme?: 'http' | 'https';
}

export function decide(policy: Policy, r: Req): Decision {
  const scheme = r.scheme ?? 'https';
  return policy.decide({
    agent: r.agent ?? 'default',
    host: r.host,
    port: r.port ?? (scheme === 'https' ? 443 : 80),
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    scheme,
  });
}
