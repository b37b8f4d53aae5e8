// `type: command`: runs an operator-configured program (`pass show {name}`, `op read op://vault/{name}/credential`)
// without a shell, so a name can never become shell syntax; `{name}` is substituted per argv element. The
// value is stdout without its trailing newline. A non-zero exit, a signal or the timeout means the backend
// cannot serve that secret right now: it is not "missing" (that would let a later backend answer for a
// broken password store), so the request fails closed with 503.
import { execFile } from 'node:child_process';
import type { Logger } from '../audit/index.ts';
import { createTtlCache } from './ttl-cache.ts';
import { SecretSourceError, type SecretSource } from './types.ts';
import { createChangeListeners } from './listeners.ts';

export interface CommandSourceConfig {
  readonly command: readonly string[];
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
}

const MAX_OUTPUT_BYTES = 256 * 1024;

export function createCommandSource(config: CommandSourceConfig, log: Logger): SecretSource {
  const listeners = createChangeListeners();
  let lastFailed = false;
  const [program, ...template] = config.command;
  if (program === undefined) throw new SecretSourceError('command', 'empty command');

  const run = (name: string): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const args = template.map((a) => a.replaceAll('{name}', name));
      execFile(
        program.replaceAll('{name}', name),
        args,
        { timeout: config.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
        (error, stdout) => {
          if (error) {
            // Only the exit status is logged: a misbehaving command may print anything on stderr.
            const e = error as NodeJS.ErrnoException & { code?: string | number; signal?: string | null; killed?: boolean };
            const why = e.killed ? `timed out after ${config.timeoutMs} ms` : e.signal ? `killed by ${e.signal}` : `exited with ${String(e.code)}`;
            // A timeout or a program that cannot start is the backend being down; an exit status is one name.
            lastFailed = e.killed === true || typeof e.code === 'string';
            log.warn({ secret: name, program }, `secrets: command ${why}`);
            reject(new SecretSourceError('command', `${program} ${why}`));
            return;
          }
          lastFailed = false;
          const value = stdout.replace(/\r?\n$/, '');
          resolve(value === '' ? undefined : value);
        },
      );
    });

  const cache = createTtlCache(config.ttlSeconds * 1000, run, () => {
    listeners.notify();
  });

  return {
    kind: 'command',
    get: (name) => cache.get(name),
    async healthy() {
      return !lastFailed;
    },
    onChange: (listener) => listeners.add(listener),
    async close() {
      cache.clear();
      listeners.clear();
    },
  };
}
