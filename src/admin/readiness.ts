// Ready-made readiness checks for /readyz. Details name what is wrong in operator terms and never quote a
// secret, a token or a backend's own error text (which may carry a URL with credentials).
import fs from 'node:fs/promises';
import type { SecretSource } from '../secrets/types.ts';
import type { ReadinessCheck } from './server.ts';

/** One check per configured secrets backend: `secrets:<kind>` (numbered when a kind repeats). */
export function secretsReadiness(sources: readonly SecretSource[]): ReadinessCheck[] {
  const seen = new Map<string, number>();
  return sources.map((source) => {
    const n = (seen.get(source.kind) ?? 0) + 1;
    seen.set(source.kind, n);
    const name = n === 1 ? `secrets:${source.kind}` : `secrets:${source.kind}#${n}`;
    return {
      name,
      async check() {
        const ok = await source.healthy().catch(() => false);
        return ok ? { ok } : { ok, detail: `the ${source.kind} secrets backend is not reachable` };
      },
    };
  });
}

/** The CA certificate and key exist and look like PEM (Sluice cannot intercept TLS without them). */
export function caReadiness(certFile: string, keyFile: string): ReadinessCheck {
  return {
    name: 'ca',
    async check() {
      try {
        const [cert, key] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.stat(keyFile)]);
        if (!cert.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, detail: 'CA certificate is not PEM' };
        if (!key.isFile()) return { ok: false, detail: 'CA key is not a file' };
        return { ok: true };
      } catch (e) {
        return { ok: false, detail: `CA files not readable (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
      }
    },
  };
}

/**
 * A check over state Sluice already holds, e.g. the policy store: `fromState('policy', () => store.lastError
 * ? { ok: false, detail: 'last reload failed: …' } : { ok: true })`.
 */
export function stateReadiness(name: string, state: () => { ok: boolean; detail?: string }): ReadinessCheck {
  return { name, check: async () => state() };
}
