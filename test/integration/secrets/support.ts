// Shared by the secrets integration tests: a silent logger that keeps its lines, temp dirs, change waits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/audit/index.ts';
import type { SecretStore } from '../../../src/secrets/index.ts';

export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${prefix}-`));
}

/** Resolves on the store's next change event (bounded by the test timeout, never by a sleep). */
export function nextChange(store: SecretStore): Promise<void> {
  return new Promise((resolve) => {
    const off = store.onChange(() => {
      off();
      resolve();
    });
  });
}

/** Asks again until the answer is the expected one; for TTL expiry, bounded by the test timeout. */
export async function eventually<T>(read: () => Promise<T>, expected: T): Promise<T> {
  for (;;) {
    const got = await read().catch((e: unknown) => e as T);
    if (got === expected) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function revealed(store: SecretStore, name: string): Promise<string> {
  return (await store.resolve(name)).reveal();
}
