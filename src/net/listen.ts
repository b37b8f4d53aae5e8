// Listeners from `listen:`: TCP (loopback unless agents authenticate) and unix sockets (mode 0660; a stale socket
// left by a crashed run is replaced, one owned by a live process is an error). Every listener is an
// http.Server that takes absolute-form requests, CONNECT and upgrades.
import fs from 'node:fs';
import net from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from './node-http.ts';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Limits } from '../config/index.ts';

export type ListenSpec =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly agent: string | null; readonly raw: string }
  | { readonly kind: 'unix'; readonly path: string; readonly agent: string | null; readonly raw: string };

export class ListenError extends Error {}

/** Parse one `listen` entry: "HOST:PORT", "[::1]:PORT" or "unix:/path", each optionally "#agent=ID". */
export function parseListen(entry: string): ListenSpec {
  const hash = entry.indexOf('#agent=');
  const agent = hash >= 0 ? entry.slice(hash + '#agent='.length) : null;
  const base = hash >= 0 ? entry.slice(0, hash) : entry;
  if (base.startsWith('unix:')) return { kind: 'unix', path: base.slice(5), agent, raw: entry };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(base);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ListenError(`listen entry "${entry}" is not HOST:PORT or unix:/path`);
  return { kind: 'tcp', host: (m[1] ?? m[2])!, port, agent, raw: entry };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface ListenerHandlers {
  request(req: IncomingMessage, res: ServerResponse, listener: ListenerInfo): void;
  connect(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo): void;
  clientError(err: NodeJS.ErrnoException, socket: Duplex, listener: ListenerInfo): void;
  connection(socket: net.Socket, listener: ListenerInfo): void;
}

export interface ListenerInfo {
  readonly name: string;
  readonly agent: string | null;
}

export interface BoundListener {
  readonly spec: ListenSpec;
  readonly server: Server;
  /** For the listening line: {tcp:"127.0.0.1:41234"} or {unix:"/…/proxy.sock"}. */
  readonly address: { tcp: string } | { unix: string };
  readonly info: ListenerInfo;
}

export function createHttpServer(limits: Limits): Server {
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 5_000,
    requireHostHeader: true,
    // Node enforces headersTimeout/requestTimeout only when this sweep runs (default every 30 s), which would
    // let a slowloris client hold a connection far past the configured timeout (CVE-2018-12122 class).
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headerTimeoutMs / 2))),
    // Duplicate headers stay separate in rawHeaders; Sluice reads rawHeaders for anything that matters.
    joinDuplicateHeaders: false,
  });
  // A client may send its request and then shut its write side (nc -N, some HTTP/1.0 clients); it still
  // expects the answer. Node's default closes the connection on the client's FIN before responding.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // One more than the limit so that "too many" is visible (Node silently truncates at maxHeadersCount).
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.maxConnections = limits.maxConnections;
  return server;
}

export async function bindListener(spec: ListenSpec, limits: Limits, handlers: ListenerHandlers): Promise<BoundListener> {
  const server = createHttpServer(limits);
  const name = spec.kind === 'tcp' ? `tcp:${spec.host}:${spec.port}` : `unix:${spec.path}`;
  let info: ListenerInfo = { name, agent: spec.agent };
  server.on('request', (req, res) => handlers.request(req, res, info));
  server.on('connect', (req, socket, head) => handlers.connect(req, socket, head, info));
  server.on('upgrade', (req, socket, head) => handlers.upgrade(req, socket, head, info));
  server.on('clientError', (err, socket) => handlers.clientError(err, socket, info));
  server.on('connection', (socket: net.Socket) => handlers.connection(socket, info));
  if (spec.kind === 'unix') {
    await clearStaleSocket(spec.path);
    await listenOn(server, { path: spec.path });
    fs.chmodSync(spec.path, 0o660);
    return { spec, server, address: { unix: spec.path }, info };
  }
  await listenOn(server, { host: spec.host, port: spec.port });
  const shown = boundAddress(server);
  info = { name: `tcp:${shown}`, agent: spec.agent };
  return { spec, server, address: { tcp: shown }, info };
}

/** "127.0.0.1:41234" or "[::1]:41234" for a TCP server that is listening (port 0 resolved). */
export function boundAddress(server: net.Server): string {
  const a = server.address() as net.AddressInfo;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** listen() as a promise that rejects with the listen error (EADDRINUSE, EACCES) instead of emitting it. */
export function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A socket file nobody accepts on is left over from a crash: remove it. One that accepts belongs to a live Sluice. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new ListenError(`${socketPath} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ListenError(`${socketPath} is in use by a running process (another Sluice?); stop it or choose another path`);
  fs.unlinkSync(socketPath);
}
