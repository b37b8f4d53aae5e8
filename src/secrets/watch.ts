// Change detection for file-backed sources: fs.watch on the directory (a file replaced by rename, or the
// Kubernetes `..data` symlink swap, is an event on the directory, not on the old inode) backed by a poll
// of a signature, because fs.watch misses events on network file systems and some bind mounts.
import fs from 'node:fs';
import type { Logger } from '../audit/index.ts';

export interface ChangeWatcherOptions {
  readonly dir: string;
  /** Which directory events matter (the file name, or null when the platform does not say). */
  readonly relevant: (filename: string | null) => boolean;
  /** A cheap summary of the watched data; a different string means "changed". */
  readonly signature: () => Promise<string>;
  readonly onChange: () => void;
  readonly pollMs: number;
  readonly log: Logger;
}

export interface ChangeWatcher {
  close(): void;
}

const DEBOUNCE_MS = 25;

export function createChangeWatcher(o: ChangeWatcherOptions): ChangeWatcher {
  let last: string | null = null;
  let closed = false;
  let checking: Promise<void> | null = null;
  let again = false;
  let debounce: NodeJS.Timeout | null = null;

  const check = (): void => {
    if (closed) return;
    if (checking) {
      again = true;
      return;
    }
    checking = o
      .signature()
      .then((sig) => {
        if (closed) return;
        const changed = last !== null && sig !== last;
        last = sig;
        if (changed) o.onChange();
      })
      .catch((e: unknown) => o.log.warn({ dir: o.dir, err: (e as NodeJS.ErrnoException).code ?? 'error' }, 'secrets: change check failed'))
      .finally(() => {
        checking = null;
        if (again) {
          again = false;
          check();
        }
      });
  };

  check();
  const poll = setInterval(check, o.pollMs);
  poll.unref();
  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(o.dir, { persistent: false }, (_event, filename) => {
      if (!o.relevant(filename === null ? null : String(filename))) return;
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(check, DEBOUNCE_MS);
      debounce.unref();
    });
    watcher.on('error', () => {
      // The directory went away (unmounted, replaced); the poll keeps watching.
      watcher?.close();
      watcher = null;
    });
  } catch {
    // Directory missing at start: the poll notices when it appears.
  }
  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
  };
}
