#!/usr/bin/env node
// The package's bin. Sluice runs its TypeScript sources directly on Node 24 (type stripping), so there is no build step.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
