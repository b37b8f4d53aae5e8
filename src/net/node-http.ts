// node:http for Sluice's modules. An ES `import http from 'node:http'` builds the module namespace from every
// export, and reading http's lazy WebSocket/MessageEvent exports loads Node's bundled copy of undici, which
// Sluice never uses (it brings its own; see undici-core.ts). require() reads nothing it is not asked
// for. Types still come from `import type` of 'node:http'.
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
