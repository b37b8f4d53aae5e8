// TLS interception for `inspect` hosts: answer 200, check that the client speaks TLS, terminate it with a leaf
// certificate for the CONNECT host (minted only now that policy allowed the host, so a client cannot fill the
// cache with names of its choosing), require SNI == CONNECT host, then hand the decrypted stream to the inner
// HTTP server, where every request is decided again on its own (THREATS 2.4, 2.9).
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ExchangeRecord } from '../audit/index.ts';
import { PolicyDeniedError, BadRequestError } from '../errors.ts';
import type { Authority } from './authority.ts';
import { canonicalHost } from './authority.ts';
import { clientGone } from './tunnel.ts';
import { readClientHello } from './client-hello.ts';
import type { NetContext } from './net-context.ts';

const TLS_HANDSHAKE_RECORD = 0x16;
const FIRST_BYTES_TIMEOUT_MS = 15_000;

export interface InterceptRequest {
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly authority: Authority;
  readonly agent: string;
  readonly record: ExchangeRecord;
  readonly finish: () => void;
  readonly listener: { name: string; agent: string | null };
  /** Private ranges the CONNECT's policy entry allows (for the upstream pre-connect's address check). */
  readonly allowPrivate: readonly string[];
}

export async function interceptTunnel(ctx: NetContext, t: InterceptRequest): Promise<void> {
  const secureContext = ctx.leaves.contextFor(t.authority.host);
  secureContext.catch(() => undefined);
  t.socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  t.record.status = 200;
  ctx.metrics.tunnelOpened('inspect');
  const close = (reason: string | null, decision: ExchangeRecord['decision'] = 'error') => {
    if (reason) {
      t.record.decision = decision;
      t.record.reason = reason;
    }
    ctx.metrics.tunnelClosed('inspect');
    t.finish();
  };

  const first = t.head.length > 0 ? t.head : await firstChunk(t.socket);
  if (!first || first[0] !== TLS_HANDSHAKE_RECORD) {
    // Plaintext or garbage inside a tunnel that must be TLS: never parse it as HTTP, never relay it.
    t.socket.destroy();
    close(first ? 'the client did not start TLS inside the intercepted tunnel' : 'the client sent nothing after CONNECT');
    return;
  }
  // Only now, with a whole ClientHello on the wire that names this host: a CONNECT that is never used (Go's
  // transport opens and drops spare ones under load), that never speaks TLS, sends a broken hello or asks for
  // another host costs no upstream connection. A hello split over several reads gets no
  // pre-connect; its first request dials as usual.
  const hello = readClientHello(first);
  const helloNamesHost = hello.state === 'ok' && checkSni(hello.sni, t.authority) === null;
  if (helloNamesHost) preconnectUpstream(ctx, t);
  t.socket.unshift(first);
  let context: tls.SecureContext;
  try {
    context = await secureContext;
  } catch {
    t.socket.destroy();
    close('could not mint a certificate for this host');
    return;
  }
  let refusedSni: Error | null = null;
  const tlsSocket = new tls.TLSSocket(t.socket as never, {
    isServer: true,
    secureContext: context,
    ALPNProtocols: ['http/1.1'],
    // Checked during the ClientHello, so a fronted handshake never completes (THREATS 2.4).
    SNICallback: (servername, cb) => {
      refusedSni = checkSni(servername, t.authority);
      if (refusedSni) cb(refusedSni, undefined);
      else cb(null, context);
    },
  });
  const handshakeTimer = setTimeout(() => tlsSocket.destroy(), FIRST_BYTES_TIMEOUT_MS);
  let secured = false;
  tlsSocket.on('error', (e) => {
    clearTimeout(handshakeTimer);
    if (!secured && !refusedSni) t.record.reason = `TLS handshake with the agent failed (${(e as { code?: string }).code ?? 'error'})`;
    tlsSocket.destroy();
  });
  tlsSocket.once('close', () => {
    clearTimeout(handshakeTimer);
    if (refusedSni) close(refusedSni.message, 'deny');
    else close(secured ? null : t.record.reason || 'TLS handshake with the agent did not complete');
  });
  tlsSocket.once('secure', () => {
    clearTimeout(handshakeTimer);
    secured = true;
    ctx.tunnels.set(tlsSocket, { listener: t.listener.name, listenerAgent: t.listener.agent, tunnel: { host: t.authority.host, port: t.authority.port, kind: t.authority.kind, agent: t.agent } });
    ctx.innerServer.emit('connection', tlsSocket);
  });
}

/** SNI must name the CONNECT host, or be absent (clients send none for IP literals): domain fronting otherwise. */
function checkSni(servername: string | false | null | undefined, authority: Authority): Error | null {
  if (!servername) return null;
  let sni: string;
  try {
    sni = canonicalHost(servername).host;
  } catch {
    return new BadRequestError('The TLS server name is not a valid host name.');
  }
  if (sni !== authority.host) {
    return new PolicyDeniedError(`The tunnel was opened for ${authority.host} but TLS asked for ${sni}: refused as domain fronting.`);
  }
  return null;
}

function firstChunk(socket: Duplex): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(null), FIRST_BYTES_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      socket.pause();
      finish(chunk);
    };
    const onEnd = () => finish(null);
    function finish(v: Buffer | null) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(v);
    }
    if (clientGone(socket)) {
      finish(null);
      return;
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/**
 * Start the upstream connection of the tunnel's first request now, through the same address check as every
 * dial: its TLS handshake then overlaps the agent's. A failure here is silent; the request dials again and
 * reports it.
 */
function preconnectUpstream(ctx: NetContext, t: InterceptRequest): void {
  ctx.dial(t.authority, t.allowPrivate).then(
    (dialled) => ctx.upstream.preconnect({ scheme: 'https', host: t.authority.host, port: t.authority.port, address: dialled.address, kind: t.authority.kind }),
    () => undefined,
  );
}
