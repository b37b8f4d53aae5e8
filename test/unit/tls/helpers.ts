// Shared bits for the tls tests: temp dirs, openssl, and a real TLS server backed by a leaf cache.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { LeafCache } from '../../../src/tls/index.ts';

/** Temp directories made during a test file; call cleanup() in afterEach. */
export function tempDirs(prefix: string): { make(): Promise<string>; cleanup(): Promise<void> } {
  const made: string[] = [];
  return {
    async make() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `sluice-${prefix}-`));
      made.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
    },
  };
}

export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** An operator-made CA (openssl req -x509), P-256, valid for `days`. Returns the file paths. */
export function opensslCa(dir: string, days: number, name = 'ca'): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', String(days), '-subj', '/CN=Operator CA',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

export interface TestServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TLS server on 127.0.0.1:0 built the way interception does it: a plain TCP accept, then a server-side
 * TLSSocket with an initial context (used when the client sends no SNI, as for IP literals) and an SNI
 * callback. (tls.createServer ignores a `secureContext` option, so it is not used here.)
 */
export async function tlsServer(options: {
  secureContext: tls.SecureContext;
  SNICallback?: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void;
}): Promise<TestServer> {
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, ...options });
    socket.on('secure', () => socket.end('hello'));
    socket.on('error', () => raw.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Certificates chosen by SNI from the cache, like the intercept path. */
export async function sniServer(cache: LeafCache, fallbackHost = 'default.test'): Promise<TestServer> {
  return tlsServer({
    secureContext: await cache.contextFor(fallbackHost),
    SNICallback: (name, cb) => {
      cache.contextFor(name).then((ctx) => cb(null, ctx), (err: Error) => cb(err));
    },
  });
}

export interface ClientResult {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly protocol: string | null;
  readonly cert: tls.PeerCertificate;
}

/** Connect, wait for the handshake, report what the client saw. Rejects on a handshake failure. */
export function connect(port: number, options: tls.ConnectionOptions): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
      const authError = socket.authorizationError;
      resolve({
        authorized: socket.authorized,
        authorizationError: authError === null || authError === undefined ? null : String(authError),
        protocol: socket.getProtocol(),
        cert: socket.getPeerCertificate(),
      });
      socket.destroy();
    });
    socket.on('error', reject);
  });
}
