// Shared fixtures for the adversarial suite: a Sluice with one known secret bound to two hosts, "tee" upstreams
// that record the exact bytes that crossed Sluice (so framing can be asserted byte for byte), a witness that keeps
// every byte the agent was shown, and the global invariants of THREATS.md §3 (G1, G3, G4, G5).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'vitest';
import { makeTestCa, type TestCa } from '../helpers/certs.ts';
import { startTestSluice, type TestSluice, type TestSluiceOptions } from '../helpers/sluice.ts';
import { connectRequest, rawExchange, tlsOver } from '../helpers/clients.ts';

/** The one secret value the suite guards; bound to cred.allowed.test (plain) and api.allowed.test (TLS). */
export const SECRET = 'ghs_AdversarialValue0123456789abcdefXYZ';
export const SECRET_NAME = 'ADV_TOKEN';

/** The secret in the encodings an agent could decode (THREATS 2.6: raw, base64, hex, %XX, JSON-escaped). */
export function secretForms(value = SECRET): string[] {
  const b = Buffer.from(value);
  return [
    value,
    b.toString('base64').replace(/=+$/, ''),
    b.toString('base64url'),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
    [...b].map((x) => `%${x.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    value.slice(8, 32),
  ];
}

export function findSecret(text: string, value = SECRET): string | null {
  for (const form of secretForms(value)) if (text.includes(form)) return form;
  return null;
}

// ---- Recording upstreams ------------------------------------------------------------------------------

export interface TeeRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly headers: http.IncomingHttpHeaders;
  readonly trailers: Record<string, string | undefined>;
  readonly body: Buffer;
}

export type TeeHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface TeeUpstream {
  readonly port: number;
  readonly seen: TeeRequest[];
  readonly server: http.Server;
  /** Every byte received, one entry per connection, decrypted for TLS. */
  readonly raw: Buffer[];
  rawText(): string;
  close(): Promise<void>;
}

const describeHandler: TeeHandler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: req.method, url: req.url, bodyLength: body.length }));
};

/**
 * An upstream whose outer listener (plain TCP or TLS) copies every byte it receives, then hands it to an inner
 * node:http server that records each request with its trailers. The inner server is strict llhttp: anything it
 * parses as two requests arrives as two entries in `seen`.
 */
export async function startTeeUpstream(options: { tls?: { key: string; cert: string }; handler?: TeeHandler } = {}): Promise<TeeUpstream> {
  const seen: TeeRequest[] = [];
  const raw: Buffer[] = [];
  const handler = options.handler ?? describeHandler;
  const inner = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, trailers: { ...req.trailers }, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => inner.listen(0, '127.0.0.1', r));
  // Upgraded (WebSocket) sockets are outside closeAllConnections and half-open by default: track them to close.
  const innerSockets = new Set<net.Socket>();
  inner.on('connection', (c: net.Socket) => {
    innerSockets.add(c);
    c.once('close', () => innerSockets.delete(c));
  });
  const innerPort = (inner.address() as net.AddressInfo).port;
  const sockets = new Set<net.Socket>();
  const onClient = (client: net.Socket) => {
    const index = raw.push(Buffer.alloc(0)) - 1;
    const to = net.connect(innerPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(to);
    // Back-pressure both ways, so an endless upstream body is throttled by Sluice's reading, as it would be directly.
    client.on('data', (d: Buffer) => {
      raw[index] = Buffer.concat([raw[index]!, d]);
      if (!to.write(d)) client.pause();
    });
    to.on('drain', () => client.resume());
    to.on('data', (d: Buffer) => {
      if (client.writable && !client.write(d)) to.pause();
    });
    client.on('drain', () => to.resume());
    const end = () => {
      client.destroy();
      to.destroy();
    };
    client.on('close', end).on('error', end).on('end', () => to.end());
    to.on('close', end).on('error', end).on('end', () => client.end());
  };
  const outer = options.tls ? tls.createServer({ key: options.tls.key, cert: options.tls.cert, ALPNProtocols: ['http/1.1'] }, onClient) : net.createServer(onClient);
  outer.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => outer.listen(0, '127.0.0.1', r));
  return {
    port: (outer.address() as net.AddressInfo).port,
    seen,
    raw,
    server: inner,
    rawText: () => Buffer.concat(raw).toString('latin1'),
    close: async () => {
      for (const s of sockets) s.destroy();
      for (const s of innerSockets) s.destroy();
      inner.closeAllConnections();
      await Promise.all([new Promise((r) => outer.close(r)), new Promise((r) => inner.close(r))]);
    },
  };
}

// ---- What the agent sees --------------------------------------------------------------------------------

/** Every byte any response put in front of the agent during one test file (G1). */
export interface Witness {
  add(bytes: Buffer | string): void;
  text(): string;
}

export function createWitness(): Witness {
  const parts: string[] = [];
  return { add: (b) => void parts.push(typeof b === 'string' ? b : b.toString('latin1')), text: () => parts.join('') };
}

export interface RawResult {
  readonly text: string;
  /** Status codes of every response head seen, in order. */
  readonly statuses: number[];
  /** The connection was closed by Sluice (or errored) before the wait ended. */
  readonly closed: boolean;
}

/**
 * Write `chunks` (strings or buffers, with `gapMs` between them) on a socket and collect what comes back until
 * the socket closes, `responses` complete responses arrived, or `waitMs` passed.
 */
export function exchangeOn(
  socket: net.Socket | tls.TLSSocket,
  chunks: readonly (string | Buffer)[],
  witness: Witness,
  options: { waitMs?: number; responses?: number; gapMs?: number } = {},
): Promise<RawResult> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let closed = false;
    let finished = false;
    const want = options.responses ?? 1;
    const timer = setTimeout(finish, options.waitMs ?? 3000);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (completeResponses(buf) >= want) setTimeout(finish, 40);
    };
    function finish() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.off('data', onData);
      witness.add(buf);
      const text = buf.toString('latin1');
      resolve({ text, statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])), closed });
    }
    socket.on('data', onData);
    const onClose = () => {
      closed = true;
      setTimeout(finish, 10);
    };
    socket.once('close', onClose);
    socket.once('end', onClose);
    socket.once('error', onClose);
    void (async () => {
      for (const c of chunks) {
        if (socket.destroyed || finished) return;
        socket.write(c);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    })();
  });
}

/** Send raw bytes to Sluice's listener on a fresh connection. */
export function rawToSluice(port: number, chunks: string | readonly (string | Buffer)[], witness: Witness, options: { waitMs?: number; responses?: number; gapMs?: number } = {}): Promise<RawResult> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  return exchangeOn(socket, typeof chunks === 'string' ? [chunks] : chunks, witness, options).finally(() => socket.destroy());
}

/** CONNECT to an intercepted host and finish TLS with Sluice's CA; the caller writes requests on the result. */
export async function openTunnel(s: TestSluice, authority: string, servername?: string): Promise<tls.TLSSocket> {
  const c = await rawExchange(s.port, connectRequest(authority));
  if (c.status !== 200) {
    c.socket.destroy();
    throw new Error(`CONNECT ${authority} answered ${c.status}`);
  }
  const host = servername ?? authority.replace(/:\d+$/, '');
  return tlsOver(c.socket, host, s.caPem);
}

/** Count complete HTTP/1.1 responses in a buffer (Content-Length, chunked, or body-less statuses). */
export function completeResponses(buf: Buffer): number {
  let count = 0;
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return count;
    const head = buf.subarray(at, headEnd).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    let next = headEnd + 4;
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      /* no body */
    } else if (cl) {
      next += Number(cl[1]);
      if (next > buf.length) return count;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const end = buf.indexOf('\r\n0\r\n\r\n', headEnd);
      if (end < 0) return count;
      next = end + 7;
    } else {
      return count;
    }
    count++;
    at = next;
  }
}

// ---- The Sluice under attack -------------------------------------------------------------------------

export interface Env {
  readonly s: TestSluice;
  readonly ca: TestCa;
  /** Plain HTTP upstream: plain.allowed.test (no credential) and cred.allowed.test (credential). */
  readonly plain: TeeUpstream;
  /** HTTPS upstream: api.allowed.test (credential) and other.allowed.test (none). */
  readonly secure: TeeUpstream;
  readonly witness: Witness;
  readonly secretsFile: string;
  /** A well-formed request that must keep working (G4 and positive controls). */
  control(): Promise<number>;
  close(): Promise<void>;
}

export const BASE_NAMES = ['plain.allowed.test', 'cred.allowed.test', 'api.allowed.test', 'other.allowed.test', 'denied.test'];

export interface EnvOptions {
  readonly plainHandler?: TeeHandler;
  readonly secureHandler?: TeeHandler;
  /** Extra policy host entries (they may use the upstream ports given). */
  readonly hosts?: (ports: { plain: number; secure: number }) => Record<string, unknown>[];
  readonly names?: readonly string[];
  /** Extra upstream.resolve entries. */
  readonly resolve?: Record<string, string | string[]>;
  readonly limits?: Record<string, number>;
  readonly config?: Record<string, unknown>;
  readonly allowPrivate?: readonly string[];
  readonly extraCertNames?: readonly string[];
  readonly guard?: Record<string, unknown>;
}

export async function startEnv(options: EnvOptions = {}): Promise<Env> {
  const ca = makeTestCa('adv');
  const names = [...BASE_NAMES, ...(options.names ?? [])];
  const plain = await startTeeUpstream(options.plainHandler ? { handler: options.plainHandler } : {});
  const secure = await startTeeUpstream({ tls: ca.issue(['api.allowed.test', 'other.allowed.test', ...(options.extraCertNames ?? [])]), ...(options.secureHandler ? { handler: options.secureHandler } : {}) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-adv-secrets-'));
  const secretsFile = path.join(dir, 'secrets.env');
  fs.writeFileSync(secretsFile, `${SECRET_NAME}=${SECRET}\n`);
  const resolve: Record<string, string | string[]> = {};
  for (const n of names) resolve[n] = '127.0.0.1';
  Object.assign(resolve, options.resolve ?? {});
  const allowPrivate = options.allowPrivate ?? ['127.0.0.0/8'];
  const sluiceOptions: TestSluiceOptions = {
    names,
    trustCa: [ca.caPath],
    allowPrivate,
    config: {
      secrets: [{ type: 'file', path: secretsFile }],
      upstream: { resolve, trustCa: [ca.caPath], allowPrivate },
      ...(options.limits ? { limits: options.limits } : {}),
      ...options.config,
    },
    policy: {
      ...(options.guard ? { guard: options.guard } : {}),
      hosts: [
        { host: 'plain.allowed.test', ports: [plain.port] },
        { host: 'cred.allowed.test', ports: [plain.port], credential: { secret: SECRET_NAME } },
        { host: 'api.allowed.test', ports: [secure.port], credential: { secret: SECRET_NAME } },
        { host: 'other.allowed.test', ports: [secure.port] },
        ...(options.hosts?.({ plain: plain.port, secure: secure.port }) ?? []),
      ],
    },
  };
  const s = await startTestSluice(sluiceOptions);
  const witness = createWitness();
  return {
    s,
    ca,
    plain,
    secure,
    witness,
    secretsFile,
    async control() {
      const r = await rawToSluice(s.port, `GET http://plain.allowed.test:${plain.port}/control HTTP/1.1\r\nHost: plain.allowed.test:${plain.port}\r\nConnection: close\r\n\r\n`, witness);
      return r.statuses[0] ?? 0;
    },
    async close() {
      await s.close();
      await plain.close();
      await secure.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * THREATS.md §3, after every file: G1 agent never saw the secret, G3 logs never held it, G4 control works, G5 JSON
 * logs. Every invariant is checked and all violations are reported together, so one does not hide another.
 */
/** Decode a chunked body as read off the wire (test-side, for asserting what the agent received). */
export function dechunk(raw: Buffer): Buffer<ArrayBuffer> {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** The global invariants (G1, G3, G4, G5) after a file's tests, then teardown, whatever the invariants found. */
export async function checkInvariantsAndClose(env: Env | undefined): Promise<void> {
  try {
    if (env) await checkInvariants(env);
  } finally {
    await env?.close();
  }
}

export async function checkInvariants(env: Env, extraSecrets: readonly string[] = []): Promise<void> {
  const problems: string[] = [];
  const control = await env.control();
  if (control !== 200) problems.push(`G4: the control request answered ${control}`);
  await new Promise((r) => setTimeout(r, 50));
  const seen = env.witness.text();
  const log = env.s.rawLog();
  for (const value of [SECRET, ...extraSecrets]) {
    const shown = findSecret(seen, value);
    if (shown !== null) problems.push(`G1: the agent received the secret (form ${JSON.stringify(shown.slice(0, 12))}…)`);
    const logged = findSecret(log, value);
    if (logged !== null) problems.push(`G3: the secret is in the log: ${log.split('\n').find((l) => l.includes(logged))?.slice(0, 300)}`);
  }
  const bad = log.split('\n').filter((l) => l.length > 0 && !isJson(l));
  if (bad.length > 0) problems.push(`G5: ${bad.length} log line(s) are not JSON, e.g. ${bad[0]!.slice(0, 120)}`);
  expect(problems, problems.join('\n')).toEqual([]);
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** The requests whose target contains `marker` (a path fragment unique to one attack). */
export function upstreamSaw(up: TeeUpstream, marker: string): TeeRequest[] {
  return up.seen.filter((r) => r.url.includes(marker));
}

/** No forwarded request mixes framing headers, carries trailers or chunk extensions (THREATS 2.5). */
export function expectWellFramed(up: TeeUpstream, requests: readonly TeeRequest[]): void {
  for (const r of requests) {
    const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    const te = names.filter((n) => n === 'transfer-encoding').length;
    const cl = names.filter((n) => n === 'content-length').length;
    expect(te + cl, `one framing header at most: ${names.join(',')}`).toBeLessThanOrEqual(1);
    expect(Object.keys(r.trailers), 'no trailers forwarded').toEqual([]);
    expect(names).not.toContain('trailer');
  }
  // Chunk extensions (";ext=...") never cross: Sluice writes its own chunk sizes.
  expect(up.rawText()).not.toMatch(/\r\n[0-9a-fA-F]+;[^\r\n]*\r\n/);
}
