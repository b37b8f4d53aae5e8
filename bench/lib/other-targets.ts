// The proxies a user would pick instead, from Debian: tinyproxy (tunnel), squid (tunnel), squid with ssl-bump
// (interception, squid-openssl) and mitmproxy's mitmdump (interception). Each gets a config in the run's temp
// dir, listens on 127.0.0.1 only and resolves the bench names through a hosts file (squid's hosts_file; for the
// others a private mount namespace with that file bound over /etc/hosts), so no lookup leaves the machine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BenchCerts } from './certs.ts';
import { freePort, waitForPort, withPrivateResolver, type ProcSet } from './procs.ts';
import type { Target } from './target.ts';

export interface OtherStartOptions {
  readonly dir: string;
  readonly certs: BenchCerts;
  readonly hostsFile: string;
}

export async function startTinyproxy(opts: OtherStartOptions, procs: ProcSet): Promise<Target> {
  const dir = path.join(opts.dir, 'tinyproxy');
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 600',
      'MaxClients 1024',
      `LogFile "${dir}/tinyproxy.log"`,
      'LogLevel Info',
      'Allow 127.0.0.1',
      'DisableViaHeader Yes',
      '',
    ].join('\n'),
  );
  const [cmd, args] = withPrivateResolver(opts.hostsFile, '/usr/bin/tinyproxy', ['-d', '-c', conf]);
  const proc = procs.start('tinyproxy', cmd, args, { logFile: path.join(dir, 'stdout.log') });
  await waitForPort(port, 10_000, proc);
  return { id: 'tinyproxy', label: 'tinyproxy (tunnel)', mode: 'tunnel', proxy: `http://127.0.0.1:${port}`, pid: proc.pid, headers: {}, note: '' };
}

function squidBase(dir: string, hostsFile: string, httpPort: string): string[] {
  return [
    httpPort,
    'workers 1',
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    `coredump_dir ${dir}`,
    'cache deny all',
    'cache_mem 8 MB',
    `hosts_file ${hostsFile}`,
    'dns_nameservers 127.0.0.1',
    'visible_hostname bench',
    'shutdown_lifetime 1 seconds',
    'max_filedescriptors 8192',
    'acl bench_client src 127.0.0.1/32',
    'http_access allow bench_client',
    'http_access deny all',
    'via off',
    'forwarded_for delete',
    'cache_effective_user proxy',
  ];
}

export async function startSquid(opts: OtherStartOptions, procs: ProcSet, bump: boolean): Promise<Target> {
  const dir = path.join(opts.dir, bump ? 'squid-bump' : 'squid');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
  const port = await freePort();
  let lines: string[];
  if (bump) {
    const db = path.join(dir, 'ssl_db');
    execFileSync('/usr/lib/squid/security_file_certgen', ['-c', '-s', db, '-M', '16MB'], { stdio: 'ignore' });
    execFileSync('chown', ['-R', 'proxy:proxy', db]);
    lines = [
      ...squidBase(
        dir,
        opts.hostsFile,
        `http_port 127.0.0.1:${port} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB ` +
          `tls-cert=${opts.certs.caCert} tls-key=${opts.certs.caKey}`,
      ),
      `sslcrtd_program /usr/lib/squid/security_file_certgen -s ${db} -M 16MB`,
      'sslcrtd_children 5 startup=1 idle=1',
      'acl step1 at_step SslBump1',
      'ssl_bump peek step1',
      'ssl_bump bump all',
      `tls_outgoing_options cafile=${opts.certs.caCert}`,
    ];
  } else {
    lines = squidBase(dir, opts.hostsFile, `http_port 127.0.0.1:${port}`);
  }
  const conf = path.join(dir, 'squid.conf');
  fs.writeFileSync(conf, lines.join('\n') + '\n');
  const proc = procs.start(bump ? 'squid-bump' : 'squid', '/usr/sbin/squid', ['-N', '-f', conf], { logFile: path.join(dir, 'stdout.log') });
  await waitForPort(port, 20_000, proc);
  return bump
    ? { id: 'squid-bump', label: 'squid ssl-bump (intercept)', mode: 'intercept', proxy: `http://127.0.0.1:${port}`, pid: proc.pid, headers: {}, note: 'CPU includes the certgen helpers' }
    : { id: 'squid', label: 'squid (tunnel)', mode: 'tunnel', proxy: `http://127.0.0.1:${port}`, pid: proc.pid, headers: {}, note: '' };
}

export async function startMitmdump(opts: OtherStartOptions, procs: ProcSet): Promise<Target> {
  const dir = path.join(opts.dir, 'mitmdump');
  const confdir = path.join(dir, 'conf');
  fs.mkdirSync(confdir, { recursive: true });
  fs.copyFileSync(opts.certs.caCombined, path.join(confdir, 'mitmproxy-ca.pem'));
  fs.copyFileSync(opts.certs.caCert, path.join(confdir, 'mitmproxy-ca-cert.pem'));
  const port = await freePort();
  const [cmd, args] = withPrivateResolver(opts.hostsFile, '/usr/bin/mitmdump', [
    '--listen-host', '127.0.0.1',
    '--listen-port', String(port),
    '--set', `confdir=${confdir}`,
    '--set', `ssl_verify_upstream_trusted_ca=${opts.certs.caCert}`,
    // Without it mitmproxy buffers whole bodies; streaming is what a user moving 100 MiB would configure.
    '--set', 'stream_large_bodies=1m',
    '--set', 'http2=false',
  ]);
  const proc = procs.start('mitmdump', cmd, args, { logFile: path.join(dir, 'stdout.log') });
  await waitForPort(port, 30_000, proc);
  return {
    id: 'mitmdump',
    label: 'mitmproxy mitmdump (intercept)',
    mode: 'intercept',
    proxy: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    headers: {},
    note: 'stream_large_bodies=1m',
  };
}

/**
 * The Node floor (bench/node-floor-proxy.ts): not a proxy anyone would pick, the reference for how much of an
 * intercepting proxy's cost on this machine is Node's TLS, HTTP parser and undici rather than the proxy's own
 * work. Same V8 flags as Sluice.
 */
export async function startNodeFloor(opts: OtherStartOptions & { readonly node: string; readonly nodeFlags: readonly string[]; readonly upstreamAddr: string }, procs: ProcSet): Promise<Target> {
  const dir = path.join(opts.dir, 'node-floor');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = { port, cert: opts.certs.serverCert, key: opts.certs.serverKey, ca: opts.certs.caCert, upstreamAddr: opts.upstreamAddr };
  const proc = procs.start('node-floor', opts.node, [...opts.nodeFlags, path.resolve('bench/node-floor-proxy.ts'), JSON.stringify(config)], {
    logFile: path.join(dir, 'stdout.log'),
  });
  await waitForPort(port, 15_000, proc);
  return {
    id: 'node-floor',
    label: 'Node floor: minimal interceptor (reference)',
    mode: 'intercept',
    proxy: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    headers: {},
    note: 'reference, not a product: node:tls + node:http + undici Pool, one wildcard certificate, no policy, guard, log or metrics',
  };
}
