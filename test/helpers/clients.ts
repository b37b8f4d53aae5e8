// Clients as agents use them: plain absolute-form HTTP, HTTPS through CONNECT with undici's ProxyAgent, and raw
// sockets for what well-behaved clients never send.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { ProxyAgent, request as undiciRequest } from 'undici';

export interface SimpleResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  json(): Record<string, unknown>;
}

function simple(status: number, headers: http.IncomingHttpHeaders, body: Buffer): SimpleResponse {
  return { status, headers, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown> };
}

/** A plain-HTTP proxy request: `METHOD http://host:port/path` sent to Sluice. */
export function viaProxy(proxyPort: number, method: string, url: string, options: { headers?: Record<string, string | string[]>; body?: Buffer | string } = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method, path: url, headers: { host: u.host, ...options.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(simple(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** HTTPS through CONNECT with undici's ProxyAgent, trusting Sluice's CA. */
export async function httpsViaProxy(
  proxyUrl: string,
  caPem: string,
  url: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string; proxyHeaders?: Record<string, string> } = {},
): Promise<SimpleResponse> {
  const dispatcher = new ProxyAgent({ uri: proxyUrl, requestTls: { ca: caPem }, ...(options.proxyHeaders ? { headers: options.proxyHeaders } : {}) });
  try {
    const res = await undiciRequest(url, { method: (options.method ?? 'GET') as 'GET', headers: options.headers ?? {}, body: options.body ?? null, dispatcher });
    const body = Buffer.from(await res.body.arrayBuffer());
    return simple(res.statusCode, res.headers as http.IncomingHttpHeaders, body);
  } finally {
    await dispatcher.close();
  }
}

export interface RawConnect {
  readonly socket: net.Socket;
  readonly status: number;
  readonly head: string;
  /** Anything after the response head (the body of a refusal). */
  readonly rest: Buffer;
}

/** Send raw bytes (a CONNECT or anything else) and read the response head. */
export function rawExchange(port: number, bytes: string | Buffer, target: { path?: string } = {}): Promise<RawConnect> {
  return new Promise((resolve, reject) => {
    const socket = target.path ? net.connect({ path: target.path }) : net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(), 5000);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf('\r\n\r\n');
      if (i >= 0) {
        // Give a refusal body a moment to arrive.
        setTimeout(done, 30);
      }
    };
    function done() {
      clearTimeout(timer);
      socket.off('data', onData);
      const i = buf.indexOf('\r\n\r\n');
      const head = i >= 0 ? buf.subarray(0, i).toString('latin1') : buf.toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ socket, status, head, rest: i >= 0 ? buf.subarray(i + 4) : Buffer.alloc(0) });
    }
    socket.on('data', onData);
    socket.once('error', (e) => {
      clearTimeout(timer);
      if (buf.length > 0) done();
      else reject(e);
    });
    socket.once('close', () => done());
    socket.write(bytes);
  });
}

export function connectRequest(authority: string, extraHeaders = ''): string {
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extraHeaders}\r\n`;
}

/** TLS over an already-CONNECTed socket; resolves with the socket once the handshake verified. */
export function tlsOver(socket: net.Socket, servername: string | undefined, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, ...(servername ? { servername } : {}), ca, ALPNProtocols: ['http/1.1'] }, () => resolve(t));
    t.once('error', reject);
  });
}

/** Write a raw HTTP request on a (TLS) socket and read one response until the connection closes or timeout. */
export function rawRequestOn(socket: net.Socket | tls.TLSSocket, request: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => finish(), waitMs);
    const onData = (d: Buffer) => {
      out += d.toString('latin1');
    };
    function finish() {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(out);
    }
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
    socket.once('error', finish);
    socket.write(request);
  });
}
