// Notice policy edits. fs.watch on the directory catches in-place edits, atomic renames (editors, `mv`) and the
// Kubernetes ConfigMap swap, where "..data" is a symlink atomically renamed to a new timestamped directory and
// every policy file is a symlink through it. fs.watch is unreliable on some mounts (NFS, overlay, inotify
// limits), so a poll of a cheap fingerprint (names, inodes, sizes, mtimes, followed through symlinks) backs it up.
import fs from 'node:fs';
import path from 'node:path';

export interface PolicyWatcher {
  close(): void;
}

export interface WatchOptions {
  readonly pollMs: number;
  readonly debounceMs?: number;
  /** false: poll only (tests of the fallback; mounts where inotify does not work). */
  readonly fsWatch?: boolean;
}

export function watchPolicyPath(policyPath: string, onChange: () => void, options: WatchOptions): PolicyWatcher {
  const debounceMs = options.debounceMs ?? 100;
  let last = fingerprint(policyPath);
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  let pendingSince = 0;
  const check = () => {
    timer = null;
    if (closed) return;
    const now = fingerprint(policyPath);
    if (now === last) return;
    last = now;
    onChange();
  };
  // Trailing debounce: an editor's truncate-then-write or a burst of renames settles before the reload, so a
  // half-written file is rarely seen. Capped, so a directory that never goes quiet still reloads.
  const schedule = () => {
    if (closed) return;
    const now = Date.now();
    if (timer !== null) {
      if (now - pendingSince > 10 * debounceMs) return;
      clearTimeout(timer);
    } else {
      pendingSince = now;
    }
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };

  const targets = options.fsWatch === false ? [] : watchTargets(policyPath);
  const watchers = targets.flatMap((target) => {
    try {
      const w = fs.watch(target, { persistent: false }, schedule);
      w.on('error', () => w.close()); // the directory went away; the poll still runs
      return [w];
    } catch {
      return [];
    }
  });
  const poll = setInterval(schedule, options.pollMs);
  poll.unref();

  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (timer !== null) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

// A single file is replaced by rename, which drops a watch on its old inode: watch its directory instead.
function watchTargets(policyPath: string): string[] {
  try {
    return fs.statSync(policyPath).isDirectory() ? [policyPath] : [path.dirname(policyPath)];
  } catch {
    return [path.dirname(policyPath)];
  }
}

/** Changes whenever any file the policy is read from changes, including through a swapped symlink. */
export function fingerprint(policyPath: string): string {
  const parts: string[] = [];
  const add = (file: string, label: string) => {
    try {
      const s = fs.statSync(file, { bigint: true });
      parts.push(`${label}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
    } catch {
      parts.push(`${label}:missing`);
    }
  };
  add(policyPath, '.');
  let names: string[] = [];
  try {
    if (fs.statSync(policyPath).isDirectory()) names = fs.readdirSync(policyPath).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'));
  } catch {
    // missing path: the "missing" marker above is the fingerprint
  }
  for (const n of names.sort()) add(path.join(policyPath, n), n);
  return parts.join('|');
}
