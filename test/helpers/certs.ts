// A test CA and server certificates made with the openssl command, independent of Sluice's own tls code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  readonly dir: string;
  readonly caPath: string;
  readonly caPem: string;
  /** A key and certificate for the given names, signed by this CA. */
  issue(names: readonly string[]): { key: string; cert: string; keyPath: string; certPath: string };
}

export function makeTestCa(label = 'upstream'): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${label}-ca-`));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=Sluice test ${label} CA`);
  let n = 0;
  return {
    dir,
    caPath: path.join(dir, 'ca.pem'),
    caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    issue(names) {
      const id = `leaf${n++}`;
      const san = names.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
      fs.writeFileSync(path.join(dir, `${id}.cnf`), `subjectAltName=${san}\n`);
      ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${id}.key`, '-out', `${id}.csr`, '-subj', `/CN=${names[0]}`);
      ossl('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${id}.pem`, '-days', '2', '-extfile', `${id}.cnf`);
      const keyPath = path.join(dir, `${id}.key`);
      const certPath = path.join(dir, `${id}.pem`);
      return { key: fs.readFileSync(keyPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8'), keyPath, certPath };
    },
  };
}
