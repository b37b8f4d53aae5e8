// The bench upstream: nginx (two workers, TLS with the bench certificate) serves the static bodies; a small
// Node server (bench/upstream-server.ts) serves SSE, the POST sink/echo and the raw TCP sink.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UPSTREAM_ADDR, type BenchCerts } from './certs.ts';
import { freePort, portFree, waitForPort, type Proc, type ProcSet } from './procs.ts';

export interface Upstream {
  /** nginx: GET /small (~200 B JSON), /1m, /100m. */
  readonly staticPort: number;
  /** Node: GET /sse, POST /upload, POST /echo. */
  readonly appPort: number;
  /** Raw TCP sink (reference throughput). */
  readonly tcpPort: number;
  readonly procs: readonly Proc[];
}

export const SMALL_JSON =
  '{"id":"msg_01bench","type":"message","role":"assistant","model":"bench-model","content":[{"type":"text","text":"Hello from the benchmark upstream."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":9}}';

export const BIG_BYTES = 100 * 1024 * 1024;
export const MEDIUM_BYTES = 1024 * 1024;

function writeRandomFile(file: string, bytes: number): void {
  if (fs.existsSync(file) && fs.statSync(file).size === bytes) return;
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < bytes; done += chunk.length) {
    crypto.randomFillSync(chunk);
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
  }
  fs.closeSync(fd);
}

function nginxConfig(dir: string, port: number, certs: BenchCerts): string {
  const www = path.join(dir, 'www');
  return `
daemon off;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen ${UPSTREAM_ADDR}:${port} ssl;
    server_name _;
    ssl_certificate ${certs.serverCert};
    ssl_certificate_key ${certs.serverKey};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench:10m;
    location = /small { default_type application/json; return 200 '${SMALL_JSON}'; }
    location = /1m { alias ${www}/1m.bin; }
    location = /100m { alias ${www}/100m.bin; }
  }
}
`;
}

export async function startUpstream(dir: string, certs: BenchCerts, procs: ProcSet, node: string): Promise<Upstream> {
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  writeRandomFile(path.join(www, '1m.bin'), MEDIUM_BYTES);
  writeRandomFile(path.join(www, '100m.bin'), BIG_BYTES);
  const [appPort, tcpPort] = [await freePort(UPSTREAM_ADDR), await freePort(UPSTREAM_ADDR)];
  // Port 443 so URLs carry no port: hey puts the Host header (with any port) into the TLS SNI, which a strict
  // interceptor rightly refuses. Falls back to a free port (hey then unusable) if 443 is taken on that address.
  // (Probe first: waiting for the port would otherwise be answered by whoever already holds it.)
  const staticPort = (await portFree(UPSTREAM_ADDR, 443)) ? 443 : await freePort(UPSTREAM_ADDR);
  const nginx = await startNginx(dir, staticPort, certs, procs);
  const app = procs.start(
    'upstream-app',
    node,
    [path.resolve('bench/upstream-server.ts'), JSON.stringify({ cert: certs.serverCert, key: certs.serverKey, port: appPort, tcpPort, host: UPSTREAM_ADDR })],
    { logFile: path.join(dir, 'upstream-app.log') },
  );
  await Promise.all([waitForPort(appPort, 10_000, app, UPSTREAM_ADDR), waitForPort(tcpPort, 10_000, app, UPSTREAM_ADDR)]);
  return { staticPort, appPort, tcpPort, procs: [nginx, app] };
}

async function startNginx(dir: string, port: number, certs: BenchCerts, procs: ProcSet): Promise<Proc> {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(dir, port, certs));
  const nginx = procs.start('nginx', '/usr/sbin/nginx', ['-c', conf, '-p', dir, '-e', path.join(dir, 'nginx-error.log')], {
    logFile: path.join(dir, 'nginx.out'),
  });
  try {
    await waitForPort(port, 10_000, nginx, UPSTREAM_ADDR);
    return nginx;
  } catch (e) {
    await procs.stop(nginx);
    throw e;
  }
}
