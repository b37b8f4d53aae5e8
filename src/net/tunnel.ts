// Blind tunnels (mode: tunnel): bytes are piped after the address guard; Sluice sees nothing inside, so it
// injects nothing and scans nothing (THREATS §4). The upstream is dialled at the checked address.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { UpstreamFailedError, UpstreamTimeoutError } from '../errors.ts';
import type { ExchangeRecord } from '../audit/index.ts';
import type { Decision } from '../policy/types.ts';
import type { Authority } from './authority.ts';
import type { NetContext } from './net-context.ts';
import { byteCounter } from '../forward/body.ts';

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
  const upstream = await connectTo(dialled.address, t.authority.port, ctx.config.limits.upstreamConnectTimeoutMs);
  ctx.metrics.tunnelOpened('tunnel');
  t.record.status = 200;
  t.socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (t.head.length > 0) {
    t.record.bytesIn += t.head.length;
    upstream.write(t.head);
  }
  const idle = ctx.config.limits.tunnelIdleTimeoutMs;
  upstream.setTimeout(idle, () => upstream.destroy());
  let closed = 0;
  const closeOne = () => {
    if (++closed < 2) return;
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
  pipeline(t.socket, byteCounter((n) => (t.record.bytesIn += n)), upstream, onDirectionDone);
  pipeline(upstream, byteCounter((n) => (t.record.bytesOut += n)), t.socket, onDirectionDone);
}

function connectTo(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
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
