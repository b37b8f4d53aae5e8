// `type: file`: a dotenv file (the format of secrets.example). Every get() stats the file and re-reads it
// when its inode, size or mtime changed, so a rotated value is used by the next request; the watcher only
// tells the store to refresh what it already knows. A missing file is an empty backend (the default config
// names secrets.env, which a fresh checkout does not have); an unreadable or malformed file is a backend
// that is down, except that a malformed edit keeps the last good content serving.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../audit/index.ts';
import { parseDotenv } from './dotenv.ts';
import { SecretSourceError, type SecretSource } from './types.ts';
import { createChangeWatcher } from './watch.ts';
import { createChangeListeners } from './listeners.ts';

interface Snapshot {
  readonly sig: string;
  readonly values: ReadonlyMap<string, string>;
}

export function createFileSource(file: string, log: Logger, pollMs: number): SecretSource {
  let good: Snapshot | null = null;
  let failedSig: string | null = null;
  const listeners = createChangeListeners();

  async function load(): Promise<ReadonlyMap<string, string>> {
    let stat;
    try {
      stat = await fs.stat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new SecretSourceError('file', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const sig = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (good?.sig === sig) return good.values;
    if (failedSig === sig) return lastGoodOrThrow();
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new SecretSourceError('file', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const parsed = parseDotenv(text);
    for (const w of parsed.warnings) log.warn({ file, line: w.line }, `secrets: ${w.message}`);
    if (parsed.problems.length > 0) {
      failedSig = sig;
      for (const p of parsed.problems) log.error({ file, line: p.line }, `secrets: ${file}:${p.line}: ${p.message}`);
      return lastGoodOrThrow();
    }
    good = { sig, values: parsed.values };
    failedSig = null;
    return good.values;
  }

  function lastGoodOrThrow(): ReadonlyMap<string, string> {
    if (good) return good.values;
    throw new SecretSourceError('file', `${file} cannot be parsed`);
  }

  const watcher = createChangeWatcher({
    dir: path.dirname(file),
    relevant: (name) => name === null || name === path.basename(file),
    signature: async () => {
      try {
        const values = await load();
        // A digest, so the watcher never holds a second copy of the values.
        return createHash('sha256').update(JSON.stringify([...values.entries()].sort())).digest('hex');
      } catch {
        return 'unreadable';
      }
    },
    onChange: () => {
      listeners.notify();
    },
    pollMs,
    log,
  });

  return {
    kind: 'file',
    async get(name) {
      return (await load()).get(name);
    },
    async healthy() {
      try {
        await load();
        return true;
      } catch {
        return false;
      }
    },
    onChange: (listener) => listeners.add(listener),
    async close() {
      watcher.close();
      listeners.clear();
    },
  };
}
