// The parts of undici that Sluice uses (Pool and Agent with the request API, the connector, the error
// classes), loaded without the package's entry point. That entry also loads fetch, WebSocket, EventSource,
// the cache and mock layers, and through them Node's own bundled copy of undici: 30 MiB of resident memory
// against 16 MiB for these parts (measured with `process.memoryUsage()` after a GC), in a proxy whose budget
// is 100 MB. The types still come from the package's own declarations, so a mismatch fails to compile.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const load = createRequire(import.meta.url);

// index.js attaches the request API to every dispatcher the same way; without it a Pool has no request().
const dispatcher = load('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(dispatcher.prototype, load('undici/lib/api/index.js') as object);

export const Pool = load('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export const Agent = load('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const buildConnector = load('undici/lib/core/connect.js') as typeof Undici.buildConnector;
export const errors = load('undici/lib/core/errors.js') as typeof Undici.errors;
