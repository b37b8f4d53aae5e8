// One bench CA (ECDSA P-256, made by openssl) signs the upstream's certificate and is given to every
// intercepting proxy as its signing CA, so the load client trusts a single file whatever the target.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface BenchCerts {
  readonly caCert: string;
  readonly caKey: string;
  /** Key then certificate in one PEM, the layout mitmproxy wants (mitmproxy-ca.pem). */
  readonly caCombined: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export const BENCH_DOMAIN = 'bench.test';
/** The upstream's own loopback address, so nginx can take port 443 without colliding with 127.0.0.1:443. */
export const UPSTREAM_ADDR = '127.0.0.2';

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', [...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCerts(dir: string): BenchCerts {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p('ca-key.pem')], dir);
  openssl(
    ['req', '-x509', '-new', '-key', p('ca-key.pem'), '-sha256', '-days', '30', '-subj', '/CN=Sluice Bench CA', '-out', p('ca.pem'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p('server-key.pem')], dir);
  openssl(['req', '-new', '-key', p('server-key.pem'), '-subj', `/CN=${BENCH_DOMAIN}`, '-out', p('server.csr')], dir);
  fs.writeFileSync(
    p('server.ext'),
    `subjectAltName=DNS:${BENCH_DOMAIN},DNS:*.${BENCH_DOMAIN},IP:127.0.0.1,IP:${UPSTREAM_ADDR}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  openssl(
    ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca-key.pem'), '-CAcreateserial', '-days', '30', '-sha256',
      '-extfile', p('server.ext'), '-out', p('server.pem')],
    dir,
  );
  fs.writeFileSync(p('ca-combined.pem'), fs.readFileSync(p('ca-key.pem'), 'utf8') + fs.readFileSync(p('ca.pem'), 'utf8'));
  // Certificates are world-readable (squid's helpers and nginx workers run unprivileged); keys stay 0600
  // (Sluice warns about a readable CA key; the proxies read keys before dropping privileges).
  for (const f of fs.readdirSync(dir)) fs.chmodSync(p(f), f.includes('key') || f.includes('combined') ? 0o600 : 0o644);
  return {
    caCert: p('ca.pem'),
    caKey: p('ca-key.pem'),
    caCombined: p('ca-combined.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server-key.pem'),
  };
}

/** Names the proxies must resolve to the upstream address: the warm host and one fresh name per cold request. */
export function coldName(tag: string): string {
  return `cold-${tag}.${BENCH_DOMAIN}`;
}

export function hostsFile(file: string, coldTags: readonly string[]): void {
  const names = [BENCH_DOMAIN, ...coldTags.map(coldName)];
  const lines = ['127.0.0.1 localhost'];
  for (let i = 0; i < names.length; i += 8) lines.push(`${UPSTREAM_ADDR} ${names.slice(i, i + 8).join(' ')}`);
  fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o644 });
  // Any name missed by the hosts file fails at once on loopback instead of asking the machine's real resolver.
  fs.writeFileSync(`${file}.resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n', { mode: 0o644 });
}
