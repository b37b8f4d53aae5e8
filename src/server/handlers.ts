// What each listener (and the inner server behind intercepted tunnels) does with a request, a CONNECT, an upgrade
// or a request llhttp could not parse.
import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { handleExchange } from '../forward/exchange.ts';
import { handleUpgrade } from '../forward/upgrade.ts';
import type { RequestOrigin } from '../forward/context.ts';
import { handleConnect } from '../net/connect.ts';
import { answerMalformed } from '../net/malformed.ts';
import type { ListenerHandlers, ListenerInfo } from '../net/listen.ts';
import type { NetContext } from '../net/net-context.ts';

export interface ConnectionState {
  /** Every client socket, destroyed at the end of the drain. */
  readonly sockets: Set<Duplex>;
  /** Set when SIGTERM arrived: answers carry Connection: close. */
  draining: boolean;
}

export function createHandlers(ctx: NetContext, state: ConnectionState): ListenerHandlers {
  const originOf = (socket: Duplex, listener: ListenerInfo | null): RequestOrigin =>
    ctx.tunnels.get(socket) ?? { listener: listener?.name ?? 'unknown', listenerAgent: listener?.agent ?? null, tunnel: null };
  const request = (req: http.IncomingMessage, res: http.ServerResponse, listener: ListenerInfo | null) => {
    if (state.draining) res.shouldKeepAlive = false;
    void handleExchange(ctx, req, res, originOf(req.socket, listener));
  };
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer, listener: ListenerInfo | null) => {
    void handleUpgrade(ctx, req, socket, head, originOf(socket, listener));
  };
  const clientError = (err: NodeJS.ErrnoException, socket: Duplex, listener: ListenerInfo | null) => {
    answerMalformed(ctx.log, err, socket, listener?.name ?? originOf(socket, null).listener);
  };
  // Requests inside intercepted tunnels: the same handlers, the origin comes from the tunnel map.
  ctx.innerServer.on('request', (req, res) => request(req, res, null));
  ctx.innerServer.on('upgrade', (req, socket, head) => upgrade(req, socket, head, null));
  ctx.innerServer.on('clientError', (err, socket) => clientError(err, socket, null));
  // CONNECT inside a tunnel would be a tunnel in a tunnel: nothing legitimate needs it.
  ctx.innerServer.on('connect', (_req, socket: Duplex) => socket.destroy());
  return {
    request,
    upgrade,
    clientError,
    connect: (req, socket, head, listener) => void handleConnect(ctx, req, socket, head, listener),
    connection: (socket: net.Socket) => {
      state.sockets.add(socket);
      ctx.metrics.connectionOpened();
      socket.once('close', () => {
        state.sockets.delete(socket);
        ctx.metrics.connectionClosed();
      });
    },
  };
}
