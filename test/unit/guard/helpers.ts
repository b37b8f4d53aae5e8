// Small factories for guard tests: settings, contexts, and a runner that drives a BodyFilter with given chunks.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGuard, defaultRulePack } from '../../../src/guard/index.ts';
import { mergeGuardSettings, DEFAULT_GUARD_SETTINGS, type GuardSettings, type GuardSettingsInput } from '../../../src/guard/settings.ts';
import type { BodyFilter, ExchangeContext, Finding, Guard, GuardStage, ScanContext } from '../../../src/guard/types.ts';
import type { Decision } from '../../../src/policy/types.ts';

export function settings(input: GuardSettingsInput = {}): GuardSettings {
  return mergeGuardSettings(DEFAULT_GUARD_SETTINGS, input);
}

export function scanCtx(s: GuardSettings = settings(), over: Partial<ScanContext> = {}): ScanContext {
  return { direction: 'request', agent: 'a', host: 'api.example.net', contentType: 'text/plain', location: 'body', settings: s, boundSecret: null, ...over };
}

export function exchange(s: GuardSettings = settings(), host = 'api.example.net'): ExchangeContext {
  return { agent: 'a', host, port: 443, method: 'POST', decision: { guard: s, credential: null } as unknown as Decision };
}

export function scan(stage: GuardStage, text: string, ctx: ScanContext = scanCtx()): readonly Finding[] {
  return stage.scan({ text, offset: 0, ctx });
}

export function newGuard(windowSize?: number): Guard {
  return createGuard({ knownSecrets: () => [], credentials: () => [], isHostAllowed: () => true, rulePack: defaultRulePack(), ...(windowSize ? { windowSize } : {}) });
}

export interface BodyRun {
  readonly out: Buffer;
  readonly error: unknown;
}

/** Feeds chunks one by one; returns what the filter emitted (also when it failed) and the error. */
export async function runFilter(filter: BodyFilter, chunks: readonly Buffer[]): Promise<BodyRun> {
  const out: Buffer[] = [];
  let error: unknown = null;
  try {
    await pipeline(Readable.from(chunks, { objectMode: false }), filter.stream, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  } catch (e) {
    error = e;
  }
  return { out: Buffer.concat(out), error };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';

/**
 * Pseudo-random characters from a fixed seed (tests build tokens at run time so the repository holds no
 * token-shaped strings; the seed keeps every run identical, so a rare draw cannot make CI flaky).
 */
let seed = 0x5eed1234;
function nextRandom(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export function rand(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(nextRandom() * alphabet.length)];
  return s;
}

export const randHex = (n: number) => rand(n, HEX);

export function chunk(buf: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < buf.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]!);
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}
