// sluice.example.yaml is the documented reference for every key: it must load, and every value it sets must be
// the default, so that copying it changes nothing until ops edits it (and a new default cannot drift from it).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.ts';
import { limitsSchema } from '../../../src/config/schema.ts';

const root = path.resolve(import.meta.dirname, '../../..');

describe('sluice.example.yaml', () => {
  it('loads and sets exactly the defaults', () => {
    const example = loadConfig(path.join(root, 'sluice.example.yaml'), { required: true });
    const defaults = loadConfig(null);
    const strip = ({ file: _f, baseDir: _b, ...rest }: typeof example) => rest;
    const relative = (c: ReturnType<typeof strip>) => ({ ...c, stateDir: path.basename(c.stateDir), policies: path.basename(c.policies) });
    expect(relative(strip(example))).toEqual(relative(strip(defaults)));
  });

  it('names every limit the schema knows, set or commented out', () => {
    const text = fs.readFileSync(path.join(root, 'sluice.example.yaml'), 'utf8');
    const missing = Object.keys(limitsSchema.shape).filter((k) => !new RegExp(`^\\s*#?\\s*${k}:`, 'm').test(text));
    expect(missing).toEqual([]);
  });
});
