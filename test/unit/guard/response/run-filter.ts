// Drive the real response Transform with chunked input and collect what it emits.
import { once } from 'node:events';
import { DEFAULT_GUARD_SETTINGS, type GuardSettings } from '../../../../src/guard/settings.ts';
import type { ExchangeContext, Finding, GuardStage } from '../../../../src/guard/types.ts';
import { createResponseFilter, type ResponseFilter } from '../../../../src/guard/response/index.ts';

export const ctx = { agent: 'default', host: 'site.test', port: 443, method: 'GET', decision: { credential: null } } as unknown as ExchangeContext;

export interface RunOptions {
  readonly mode?: GuardSettings['response'];
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly chunk?: number;
  readonly stages?: readonly GuardStage[];
  readonly maxDecodedBytes?: number;
  readonly disableRules?: readonly string[];
}

export interface RunResult {
  readonly body: string;
  /** The emitted bytes as they are (binary bodies). */
  readonly bytes: Buffer;
  readonly findings: readonly Finding[];
  readonly error: Error | null;
  readonly filter: ResponseFilter;
}

export function makeFilter(contentType: string, opts: RunOptions = {}): ResponseFilter | null {
  // An empty content type means no Content-Type header at all.
  const typeHeader: Array<readonly [string, string]> = contentType === '' ? [] : [['content-type', contentType]];
  return createResponseFilter(ctx, { status: 200, headers: [...typeHeader, ...(opts.headers ?? [])] }, {
    stages: opts.stages ?? [],
    settings: { ...DEFAULT_GUARD_SETTINGS, response: opts.mode ?? 'sanitize', disableRules: opts.disableRules ?? [] },
    isHostAllowed: (h) => h === 'allowed.test' || h.endsWith('.allowed.test'),
    maxDecodedBytes: opts.maxDecodedBytes ?? 8 * 1024 * 1024,
  });
}

/** Write `input` in byte chunks of `chunk` (default: whole) and collect the output. */
export async function runFilter(contentType: string, input: string | Buffer, opts: RunOptions = {}): Promise<RunResult> {
  const filter = makeFilter(contentType, opts);
  if (filter === null) throw new Error('no filter');
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const out: Buffer[] = [];
  filter.stream.on('data', (c: Buffer) => out.push(c));
  let error: Error | null = null;
  filter.stream.on('error', (e: Error) => {
    error = e;
  });
  const step = opts.chunk ?? bytes.length;
  const done = Promise.race([once(filter.stream, 'end'), once(filter.stream, 'close')]);
  for (let i = 0; i < bytes.length && error === null; i += Math.max(1, step)) filter.stream.write(bytes.subarray(i, i + Math.max(1, step)));
  if (error === null) filter.stream.end();
  await done.catch(() => undefined);
  return { body: Buffer.concat(out).toString('utf8'), bytes: Buffer.concat(out), findings: filter.findings(), error, filter };
}

export function rules(r: RunResult): string[] {
  return r.findings.map((f) => f.rule);
}

export function highs(r: RunResult): Finding[] {
  return r.findings.filter((f) => f.severity === 'high' || f.severity === 'critical');
}

export function tagEncode(s: string): string {
  return [...s].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
}
