// Upstream servers started by tests: they record every request they receive (method, target, raw headers, body)
// so tests can assert what crossed Sluice, and answer with a handler the test chooses.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import crypto from 'node:crypto';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly sha256: string;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface TestUpstream {
  readonly port: number;
  readonly seen: SeenRequest[];
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Default handler: JSON describing what arrived. */
export const echoHandler: Handler = (req, res, body) => {
  const payload = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, bodyLength: body.length, sha256: sha256(body) });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(payload);
};

export async function startUpstream(options: { tls?: { key: string; cert: string }; handler?: Handler; stream?: boolean } = {}): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const handler = options.handler ?? echoHandler;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (options.stream) {
      // Handler reads the body itself (large uploads are hashed as they stream).
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), sha256: '' });
      handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body, sha256: sha256(body) });
      handler(req, res, body);
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : http.createServer(onRequest);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    server,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}
