// How Sluice's process runs: which code (the compiled build or the sources) and with which V8 flags.
// Shared by bin/sluice.js, scripts/build.mjs (--if-stale) and the benchmarks (which run Sluice as `npm start` does).
import fs from 'node:fs';
import path from 'node:path';

/**
 * V8's young generation grows to 64 MiB by default, which alone is most of the 100 MB budget for the proxy;
 * 8 MiB semi-spaces keep it at 16 MiB for a few percent more scavenges (bench/results). V8 reads heap limits
 * only at start-up, so the flag goes on the command line: `npm start`, the image's NODE_OPTIONS and the bin's
 * shebang carry the same value.
 */
export const SLUICE_NODE_FLAGS = ['--max-semi-space-size=8'];

export const BUILD_STAMP = '.built';

/** True when dist/ holds a finished build and no file under src/ (if src/ is there at all) is newer. */
export function builtIsFresh(root) {
  let built;
  try {
    built = fs.statSync(path.join(root, 'dist', BUILD_STAMP)).mtimeMs;
  } catch {
    return false;
  }
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return true; // an image that ships only dist/
  return newestMtime(src) <= built;
}

function newestMtime(dir) {
  let newest = fs.statSync(dir).mtimeMs;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}
