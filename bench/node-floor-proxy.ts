// A reference for the suite, not a product: the least an intercepting proxy written on Node's own stacks does,
// with the same parts Sluice uses (net + tls for the agent side, node:http's parser for requests, an undici
// Pool per upstream). CONNECT is answered 200 for any host, the tunnel is terminated with the bench's one
// wildcard certificate (no minting, so its cold figure has no signing in it), every request is sent on with its
// hop-by-hop headers dropped, and the response is piped back. No policy, credential, guard, log line or metric.
// Its row shows what Node itself costs per request on this machine, so Sluice's own share can be read off.
//   node bench/node-floor-proxy.ts '{"port":N,"cert":…,"key":…,"ca":…,"upstreamAddr":"127.0.0.2"}'   (listens on 127.0.0.1:N)
import fs from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

interface Options {
  readonly port: number;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly upstreamAddr: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const context = tls.createSecureContext({ cert: fs.readFileSync(options.cert), key: fs.readFileSync(options.key) });
const ca = fs.readFileSync(options.ca);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const pools = new Map<string, Pool>();
const SMALL_BODY_BYTES = 64 * 1024;
const tunnelOf = new WeakMap<Duplex, { host: string; port: number }>();

function poolFor(host: string, port: number): Pool {
  const key = `${host}:${port}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(`https://${options.upstreamAddr}:${port}`, { connect: { ca, servername: host }, connections: 256 });
    pools.set(key, pool);
  }
  return pool;
}

function endToEnd(raw: readonly string[], host: string): string[] {
  const out = ['host', host];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name !== 'host' && !HOP_BY_HOP.has(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

const inner = http.createServer((req, res) => {
  const tunnel = tunnelOf.get(req.socket);
  if (!tunnel) {
    res.writeHead(400).end();
    return;
  }
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  poolFor(tunnel.host, tunnel.port)
    .request({ method: req.method ?? 'GET', path: req.url ?? '/', headers: endToEnd(req.rawHeaders, req.headers.host ?? tunnel.host), body: hasBody ? req : null })
    .then(
      (upstream) => {
        const headers: string[] = [];
        for (const [name, value] of Object.entries(upstream.headers)) {
          if (HOP_BY_HOP.has(name) || value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) headers.push(name, v);
        }
        const length = Number(upstream.headers['content-length']);
        if (Number.isInteger(length) && length <= SMALL_BODY_BYTES) {
          // As Sluice does for small bodies: one read and one end(), head and body in one TLS write.
          upstream.body.arrayBuffer().then(
            (body) => {
              res.writeHead(upstream.statusCode, headers);
              res.end(Buffer.from(body));
            },
            () => res.destroy(),
          );
          return;
        }
        res.writeHead(upstream.statusCode, headers);
        pipeline(upstream.body, res, () => undefined);
      },
      (error: Error) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message);
      },
    );
});

const outer = http.createServer((_req, res) => res.writeHead(405).end());
outer.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  const match = /^([^:]+):(\d+)$/.exec(req.url ?? '');
  if (!match) {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  const secure = new tls.TLSSocket(socket as never, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
  secure.on('error', () => secure.destroy());
  tunnelOf.set(secure, { host: match[1]!, port: Number(match[2]) });
  inner.emit('connection', secure);
});
outer.on('clientError', (_e, socket) => socket.destroy());
outer.listen(options.port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
