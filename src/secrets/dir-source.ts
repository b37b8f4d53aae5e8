// `type: dir`: one file per secret, as Docker (/run/secrets) and Kubernetes (secret volumes) mount them.
// Each get() reads the file, so a replaced file (Docker) or a swapped `..data` symlink (Kubernetes' atomic
// writer) is used by the next request. The trailing newline editors and `echo` add is not part of the value.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../audit/index.ts';
import { isValidSecretName } from './names.ts';
import { SecretSourceError, type SecretSource } from './types.ts';
import { createChangeWatcher } from './watch.ts';
import { createChangeListeners } from './listeners.ts';

const MAX_SECRET_FILE_BYTES = 1024 * 1024;
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export function createDirSource(dir: string, log: Logger, pollMs: number): SecretSource {
  const listeners = createChangeListeners();

  async function read(name: string): Promise<string | undefined> {
    // Names never start with a dot, so `..data`, `..2024_…` and `../` can never be asked for.
    if (!isValidSecretName(name)) return undefined;
    const file = path.join(dir, name);
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) return undefined;
      if (stat.size > MAX_SECRET_FILE_BYTES) throw new SecretSourceError('dir', `${file} is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
      return (await fs.readFile(file, 'utf8')).replace(/[\r\n]+$/, '');
    } catch (e) {
      if (e instanceof SecretSourceError) throw e;
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (ABSENT.has(code)) return undefined;
      throw new SecretSourceError('dir', `cannot read ${file}: ${code}`);
    }
  }

  /** Names, inodes, sizes and mtimes of the visible entries (following symlinks), plus the `..data` target. */
  async function signature(): Promise<string> {
    const hash = createHash('sha256');
    let entries: string[];
    try {
      entries = (await fs.readdir(dir)).sort();
    } catch (e) {
      return `missing:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    for (const entry of entries) {
      if (entry === '..data') hash.update(`data:${await fs.readlink(path.join(dir, entry)).catch(() => '')}\n`);
      if (entry.startsWith('.')) continue;
      const s = await fs.stat(path.join(dir, entry)).catch(() => null);
      hash.update(`${entry}:${s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'gone'}\n`);
    }
    return hash.digest('hex');
  }

  const watcher = createChangeWatcher({
    dir,
    relevant: () => true,
    signature,
    onChange: () => {
      listeners.notify();
    },
    pollMs,
    log,
  });

  return {
    kind: 'dir',
    get: read,
    async healthy() {
      try {
        await fs.access(dir);
        return true;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT';
      }
    },
    onChange: (listener) => listeners.add(listener),
    async close() {
      watcher.close();
      listeners.clear();
    },
  };
}
