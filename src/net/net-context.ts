import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyContext, RequestOrigin } from '../forward/context.ts';
import type { LeafCache } from '../tls/index.ts';

/** What the network layer adds to the forwarding context. */
export interface NetContext extends ProxyContext {
  readonly leaves: LeafCache;
  /** The internal HTTP server that parses requests inside intercepted tunnels. */
  readonly innerServer: Server;
  /** Intercepted TLS sockets → the CONNECT they belong to. */
  readonly tunnels: WeakMap<Duplex, RequestOrigin>;
}
