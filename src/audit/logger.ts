// One pino logger per Sluice instance (no module-level state but the time field's per-second cache), JSON lines
// on stdout (or a given stream).
import pino, { type Logger, type DestinationStream } from 'pino';
import { LineBatch } from './line-batch.ts';

export type { Logger };

/** Header and field names that could carry a credential, masked by pino as a second net. */
const REDACT_PATHS = [
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'token',
  'secret',
  'value',
  '*.token',
  '*.secret',
];

/**
 * Writes one info line of plain fields in exactly the layout `log.info(fields, msg)` produces, without pino's
 * per-key pass. The redact paths above install a wildcard stringifier that pino runs on every value of every
 * line; on the audit line, whose fields are an allowlist of scalars and findings (no path above can match),
 * that pass was most of the logging cost per request (bench/results/profile-summary.md). Every other line still
 * goes through pino and its redaction. The level, time, bindings and line end come from the logger itself, so
 * the two paths cannot drift apart (test/unit/audit/audit-line.test.ts compares them).
 */
export function writeInfoLine(log: Logger, fields: Record<string, unknown>, msg: string): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const time = (internals[pino.symbols.timeSym] as () => string)();
  const levelPrefix = (internals[pino.symbols.lsCacheSym] as Record<number, string>)[log.levels.values['info']!]!;
  const body = JSON.stringify(fields);
  const props = body.length > 2 ? `,${body.slice(1, -1)}` : '';
  const line = `${levelPrefix}${time}${internals[pino.symbols.chindingsSym] as string}${props},"msg":${JSON.stringify(msg)}${internals[pino.symbols.endSym] as string}`;
  (internals[pino.symbols.streamSym] as DestinationStream).write(line);
}

/**
 * Lines are written to stdout in batches: a write once 32 KiB have gathered, and every 50 ms whatever has. An
 * asynchronous write is a round trip through libuv's thread pool (a worker wake-up, the write, an eventfd back
 * to the main thread); one per line cost 35-55 µs of CPU per request line (bench/README.md), more than the rest
 * of a refused CONNECT. With 8 KiB batches, strace still counted 0.12 thread-pool writes per small GET at
 * concurrency 1 (and 0.18 worker futex calls); 32 KiB is half a pipe's default buffer. 50 ms is the most a line
 * waits at low traffic; `log.flush()` (drain) and the exit hook in line-batch.ts (also after an uncaught
 * exception) write what is left. The batch is gathered by LineBatch, not by SonicBoom's `minLength`
 * (line-batch.ts says why).
 */
export const LOG_BATCH_BYTES = 32 * 1024;
export const LOG_FLUSH_MS = 50;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: null,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? stdoutBatches(),
  );
}

function stdoutBatches(): DestinationStream {
  return new LineBatch(pino.destination({ dest: 1, sync: false }), { batchChars: LOG_BATCH_BYTES, flushMs: LOG_FLUSH_MS });
}

let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * pino's isoTime (`,"time":"2026-12-07T22:41:02.677Z"`) with the part up to the second made once a second:
 * `new Date().toISOString()` per line was 1.1% of Sluice's CPU samples under the c=32 small-GET load.
 */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}
