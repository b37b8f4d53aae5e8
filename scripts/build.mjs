// Compiles src/ to dist/ (plain JavaScript, same tree) and copies the rule packs beside it. Why a build when
// Node 24 runs TypeScript directly: type stripping keeps a WebAssembly stripper resident, about 40 MiB of RSS
// for Sluice's sources, and the proxy's memory budget is 100 MB. `bin/sluice.js` runs dist/ only while it is
// newer than every file under src/, so an edit without a rebuild runs the sources, never stale code.
// Type errors are `npm test`'s job (tsc there); this only emits (noCheck), in about 3 s.
//   node scripts/build.mjs [--if-stale]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_STAMP, builtIsFresh } from '../bin/runtime.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv.includes('--if-stale') && builtIsFresh(root)) process.exit(0);

const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const file of fs.globSync('src/**/*.yaml', { cwd: root })) {
  const to = path.join(dist, path.relative('src', file));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, file), to);
}
fs.writeFileSync(path.join(dist, BUILD_STAMP), `${new Date().toISOString()}\n`);
