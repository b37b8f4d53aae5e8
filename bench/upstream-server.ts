// The part of the bench upstream nginx cannot do: an SSE stream with real timing (one event every 100 ms, the
// first 100 ms after the request, like a model's first token), a POST sink that answers only after the whole
// body arrived (so upload time is the full transfer), a POST echo, and a raw TCP sink for the loopback reference.
// Runs as its own process: `node bench/upstream-server.ts '{"cert":…,"key":…,"port":…,"tcpPort":…}'`.
import fs from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';

interface Options {
  readonly cert: string;
  readonly key: string;
  readonly port: number;
  readonly tcpPort: number;
  readonly host: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const EVENT_INTERVAL_MS = 100;
const MAX_EVENTS = 100;

function sse(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let n = 0;
  const timer = setInterval(() => {
    n++;
    res.write(`event: delta\ndata: {"n":${n},"text":"token ${n} of a streamed answer"}\n\n`);
    if (n >= MAX_EVENTS) {
      clearInterval(timer);
      res.end();
    }
  }, EVENT_INTERVAL_MS);
  req.socket.once('close', () => clearInterval(timer));
  res.once('close', () => clearInterval(timer));
}

function sink(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.once('end', () => {
    const body = JSON.stringify({ received: bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
  pipeline(req, res).catch(() => res.destroy());
}

const server = https.createServer(
  { cert: fs.readFileSync(options.cert), key: fs.readFileSync(options.key), keepAliveTimeout: 120_000 },
  (req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/sse')) return sse(req, res);
    if (req.method === 'POST' && url.startsWith('/upload')) return sink(req, res);
    if (req.method === 'POST' && url.startsWith('/echo')) return echo(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  },
);
server.headersTimeout = 60_000;
server.requestTimeout = 0;

const tcpSink = net.createServer((socket) => {
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
});

server.listen(options.port, options.host);
tcpSink.listen(options.tcpPort, options.host);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    server.closeAllConnections();
    server.close();
    tcpSink.close();
    process.exit(0);
  });
}
