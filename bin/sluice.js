#!/usr/bin/env -S node --max-semi-space-size=8
// The package's bin. It runs the compiled build (dist/, made by `npm install` and `npm start`) when that is up
// to date, else the TypeScript sources directly (Node 24 type stripping), so an edit never runs stale code.
// The build only saves memory (see scripts/build.mjs); both run the same code.
import { fileURLToPath } from 'node:url';
import { builtIsFresh } from './runtime.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = builtIsFresh(root) ? '../dist/cli/main.js' : '../src/cli/main.ts';
const { main } = await import(entry);

process.exitCode = await main(process.argv.slice(2));
