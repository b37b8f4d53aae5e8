// Blind tunnels (mode: tunnel): bytes are piped after the address guard; Sluice sees nothing inside, so it
// injects nothing and scans nothing (THREATS §4). The upstream is dialled at the checked address.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { UpstreamFailedError, UpstreamTimeoutError } from '../errors.ts';
import type { ExchangeRecord } from '../audit/index.ts';
import type { Decision } from '../policy/types.ts';
import { canonicalHost, type Authority } from './authority.ts';
import { readClientHello, MAX_HELLO_BYTES, type HelloResult } from './client-hello.ts';
import type { NetContext } from './net-context.ts';
import { pooledReader } from './pooled-relay.ts';

export interface TunnelRequest {
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly authority: Authority;
  readonly decision: Decision;
  readonly record: ExchangeRecord;
  readonly finish: () => void;
}

export async function openBlindTunnel(ctx: NetContext, t: TunnelRequest): Promise<void> {
  const dialled = await ctx.dial(t.authority, t.decision.allowPrivate);
  const reader = pooledReader();
  const upstream = await connectTo(dialled.address, t.authority.port, ctx.config.limits.upstreamConnectTimeoutMs, reader.onread);
  if (clientGone(t.socket)) {
    // The client gave up while we dialled (Go cancels surplus dials): release both sockets at once.
    upstream.destroy();
    t.socket.destroy();
    t.record.decision = 'error';
    t.record.reason = 'the client closed the connection before the tunnel was established';
    t.finish();
    return;
  }
  ctx.metrics.tunnelOpened('tunnel');
  t.record.status = 200;
  t.socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  const first = await firstHello(t.socket, t.head);
  const refusal = helloRefusal(first, t.authority);
  if (refusal) {
    t.record.decision = refusal.decision;
    t.record.reason = refusal.reason;
    upstream.destroy();
    t.socket.destroy();
    ctx.metrics.tunnelClosed('tunnel');
    t.finish();
    return;
  }
  upstream.write(first.bytes);
  const idle = ctx.config.limits.tunnelIdleTimeoutMs;
  upstream.setTimeout(idle, () => upstream.destroy());
  let closed = 0;
  const closeOne = () => {
    if (++closed < 2) return;
    // The upstream socket's own counters (the ClientHello included): a counting Transform per direction would
    // cost an extra stream hop on every chunk of a bulk transfer.
    t.record.bytesIn = upstream.bytesWritten;
    t.record.bytesOut = upstream.bytesRead;
    ctx.metrics.tunnelClosed('tunnel');
    t.finish();
  };
  // Each direction ends its writable side on a clean end (half-close is passed on); an error tears down both.
  const onDirectionDone = (err: Error | null | undefined) => {
    if (err) {
      upstream.destroy();
      t.socket.destroy();
    }
    closeOne();
  };
  pipeline(t.socket, upstream, onDirectionDone);
  reader.relayInto(upstream, t.socket, onDirectionDone);
}

/** Buffer the client's first TLS record (bounded in size and time) so its SNI can be checked before relaying. */
function firstHello(socket: Duplex, head: Buffer): Promise<{ bytes: Buffer; hello: HelloResult }> {
  return new Promise((resolve) => {
    let bytes = head;
    const check = () => readClientHello(bytes);
    const finish = (hello: HelloResult) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve({ bytes, hello });
    };
    const onData = (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
      const hello = check();
      if (hello.state !== 'incomplete' || bytes.length > MAX_HELLO_BYTES) finish(hello.state === 'incomplete' ? { state: 'malformed' } : hello);
    };
    const onEnd = () => finish({ state: 'malformed' });
    const timer = setTimeout(() => finish({ state: 'malformed' }), HELLO_TIMEOUT_MS);
    const initial = check();
    if (initial.state !== 'incomplete') {
      clearTimeout(timer);
      resolve({ bytes, hello: initial });
      return;
    }
    if (clientGone(socket)) {
      finish({ state: 'malformed' });
      return;
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** A socket that already ended or closed will never emit those events again: waiting on them would hang. */
export function clientGone(socket: Duplex): boolean {
  return socket.destroyed || socket.readableEnded || !socket.writable;
}

const HELLO_TIMEOUT_MS = 15_000;

/**
 * Blind tunnels relay TLS only: plaintext would be an uninspected channel, and an SNI naming another host is
 * domain fronting. No SNI (clients omit it for IP literals) is accepted.
 */
function helloRefusal(first: { hello: HelloResult }, authority: Authority): { decision: 'deny' | 'error'; reason: string } | null {
  const h = first.hello;
  if (h.state === 'not-tls') return { decision: 'deny', reason: 'the client did not start TLS inside a blind tunnel' };
  if (h.state !== 'ok') return { decision: 'error', reason: 'the client did not send a readable TLS ClientHello' };
  if (h.sni === null) return null;
  let sni: string;
  try {
    sni = canonicalHost(h.sni).host;
  } catch {
    return { decision: 'deny', reason: 'the TLS server name is not a valid host name' };
  }
  if (sni !== authority.host) return { decision: 'deny', reason: `the tunnel was opened for ${authority.host} but TLS asked for ${sni}: refused as domain fronting` };
  return null;
}

function connectTo(address: string, port: number, timeoutMs: number, onread: net.OnReadOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, noDelay: true, onread });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamTimeoutError('The upstream server did not accept the connection in time.'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new UpstreamFailedError((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'The upstream server refused the connection.' : undefined, { cause: e }));
    });
  });
}
