// bin/sluice.js runs dist/ only while it is a finished build newer than every source: an edit made after the
// last build must run (from the sources), never the stale compiled code.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_STAMP, builtIsFresh } from '../../../bin/runtime.js';
import { tempDir } from './helpers.ts';

function tree(): string {
  const root = tempDir('sluice-runtime-');
  fs.mkdirSync(path.join(root, 'src/guard'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src/guard/a.ts'), 'export {};\n');
  fs.mkdirSync(path.join(root, 'dist'));
  return root;
}

const at = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);

describe('which code bin/sluice.js runs', () => {
  it('the build when its stamp is newer than every source file and folder', () => {
    const root = tree();
    at(path.join(root, 'src/guard/a.ts'), 1000);
    at(path.join(root, 'src/guard'), 1000);
    at(path.join(root, 'src'), 1000);
    fs.writeFileSync(path.join(root, 'dist', BUILD_STAMP), '');
    at(path.join(root, 'dist', BUILD_STAMP), 2000);
    expect(builtIsFresh(root)).toBe(true);
  });

  it('the sources when one file was edited after the build, however deep', () => {
    const root = tree();
    fs.writeFileSync(path.join(root, 'dist', BUILD_STAMP), '');
    at(path.join(root, 'dist', BUILD_STAMP), 2000);
    for (const p of ['src', 'src/guard']) at(path.join(root, p), 1000);
    at(path.join(root, 'src/guard/a.ts'), 3000);
    expect(builtIsFresh(root)).toBe(false);
  });

  it('the sources when a file was added or removed after the build (the folder changed)', () => {
    const root = tree();
    fs.writeFileSync(path.join(root, 'dist', BUILD_STAMP), '');
    at(path.join(root, 'dist', BUILD_STAMP), 2000);
    at(path.join(root, 'src/guard/a.ts'), 1000);
    at(path.join(root, 'src'), 1000);
    at(path.join(root, 'src/guard'), 3000);
    expect(builtIsFresh(root)).toBe(false);
  });

  it('the sources when the build never finished (no stamp)', () => {
    expect(builtIsFresh(tree())).toBe(false);
  });

  it('the build when there are no sources at all (the image ships dist/ only)', () => {
    const root = tree();
    fs.rmSync(path.join(root, 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'dist', BUILD_STAMP), '');
    expect(builtIsFresh(root)).toBe(true);
  });
});
