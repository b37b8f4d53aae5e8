// `sluice bridge`: inside an agent container started with `--network none`, the only way out is the
// proxy's unix socket mounted into it. Most HTTP clients only speak to a TCP proxy, so the bridge accepts
// TCP on loopback and relays each connection, byte for byte, to that socket. It makes no decisions: the
// proxy behind the socket does all of them (and owns the timeouts, so long-lived WebSockets are not cut).
import net from 'node:net';
import { pipeline } from 'node:stream';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../audit/index.ts';
import { boundAddress, listenOn } from './listen.ts';

export interface BridgeOptions {
  /** "127.0.0.1:3128", "[::1]:3128" or "localhost:3128"; port 0 picks a free port. Loopback only. */
  readonly listen: string;
  /** Path of the proxy's unix socket. It need not exist yet: each connection opens it anew. */
  readonly socket: string;
}

export interface Bridge {
  /** The address actually listening, "127.0.0.1:41234" or "[::1]:41234". */
  readonly address: string;
  /** Stop accepting, cut the connections still open, resolve once the listener is closed. */
  close(): Promise<void>;
}

export class BridgeError extends Error {
  override readonly name = 'BridgeError';
}

export async function startBridge(options: BridgeOptions, log?: Logger): Promise<Bridge> {
  const { host, port } = parseLoopbackListen(options.listen);
  const open = new Set<net.Socket>();
  // allowHalfOpen: a client that shuts down its sending side (curl after a request body, `nc -N`) must
  // still receive the whole answer, so an end on one side is relayed as an end, not a close.
  const server = net.createServer({ allowHalfOpen: true }, (client) => relay(client, options.socket, open, log));
  try {
    await listenOn(server, { host, port, exclusive: true });
  } catch (e) {
    throw new BridgeError(`cannot listen on ${options.listen}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  server.on('error', (e) => log?.error({ err: e.message }, 'bridge listener error'));
  const address = boundAddress(server);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

/**
 * The bridge must only be reachable from inside its own network namespace: listening on 0.0.0.0 or a
 * container address would hand the proxy (and the agent's allowances and credentials behind it) to any
 * host that can reach the container. IP literals are read strictly (no `127.1`, no IPv4-mapped forms).
 */
export function parseLoopbackListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const rawHost = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || rawHost === undefined || !Number.isInteger(port) || port > 65535) {
    throw new BridgeError(`--listen ${JSON.stringify(listen)} is not HOST:PORT (for example 127.0.0.1:3128)`);
  }
  const host = rawHost === 'localhost' ? '127.0.0.1' : rawHost;
  const family = net.isIP(host);
  const bracketsOk = family === 6 ? m[1] !== undefined : m[1] === undefined;
  if (family === 0 || !bracketsOk || ipaddr.parse(host).range() !== 'loopback') {
    throw new BridgeError(
      `refusing to listen on ${listen}: the bridge listens on a loopback address only (127.0.0.0/8, [::1] or localhost), ` +
        'so that nothing outside the agent container can reach the proxy through it',
    );
  }
  return { host, port };
}

/** One client connection ↔ one connection to the proxy socket; an error on either side ends both. */
function relay(client: net.Socket, socketPath: string, open: Set<net.Socket>, log?: Logger): void {
  const upstream = net.createConnection({ path: socketPath, allowHalfOpen: true });
  open.add(client);
  open.add(upstream);
  client.setNoDelay(true);
  let failed = false;
  const done = (err?: NodeJS.ErrnoException | null): void => {
    if (!err || failed) return;
    failed = true;
    if (err.syscall === 'connect') log?.warn({ socket: socketPath, err: err.code ?? err.message }, 'bridge cannot reach the proxy socket');
    client.destroy();
    upstream.destroy();
  };
  pipeline(client, upstream, done);
  pipeline(upstream, client, done);
  client.once('close', () => open.delete(client));
  upstream.once('close', () => open.delete(upstream));
}
