// Sluice's certificate authority: loaded from configured files, or created once under stateDir.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../audit/index.ts';
import { generateP256, privateKeyPem, randomSerialHex, importSigningKey } from './keys.ts';
import { x509 } from './x509.ts';

export interface CertificateAuthority {
  readonly certPem: string;
  readonly certPath: string;
  /** Non-enumerable, so JSON.stringify, pino and util.inspect of the CA never print it. */
  readonly keyPem: string;
  readonly fingerprint256: string;
}

export interface CaOptions {
  readonly stateDir: string;
  readonly certPath: string | null;
  readonly keyPath: string | null;
  readonly create: boolean;
}

/** The CA cannot be loaded or created. The message names the file and what to do; never key material. */
export class CaError extends Error {
  override readonly name = 'CaError';
}

const CA_VALIDITY_YEARS = 10;
/** How long a second process waits for the first one to finish writing the CA it is creating. */
const CREATE_WAIT_MS = 5_000;

export async function loadOrCreateCa(options: CaOptions, log?: Logger): Promise<CertificateAuthority> {
  if (options.certPath !== null || options.keyPath !== null) {
    if (options.certPath === null || options.keyPath === null) {
      throw new CaError('ca.cert and ca.key must be set together (or both left null to use the CA in stateDir)');
    }
    return loadCaFiles(options.certPath, options.keyPath, log);
  }
  const certPath = path.join(options.stateDir, 'ca.pem');
  const keyPath = path.join(options.stateDir, 'ca-key.pem');
  if (await exists(certPath)) return loadCaFiles(certPath, keyPath, log);
  if (!options.create) throw new CaError(`no CA certificate at ${certPath}: run "sluice ca init" to create one`);
  return createCaFiles(options.stateDir, certPath, keyPath, log);
}

async function loadCaFiles(certPath: string, keyPath: string, log?: Logger): Promise<CertificateAuthority> {
  const certText = await readText(certPath, 'CA certificate');
  const keyText = await readText(keyPath, 'CA private key');
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certText);
  } catch {
    throw new CaError(`${certPath} is not a PEM certificate`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyText);
  } catch {
    throw new CaError(`${keyPath} is not a PEM private key (encrypted keys are not supported)`);
  }
  if (!cert.ca) throw new CaError(`${certPath} is not a CA certificate (basicConstraints CA:TRUE is missing)`);
  if (!cert.checkPrivateKey(key)) throw new CaError(`CA key ${keyPath} does not match certificate ${certPath}`);
  if (cert.validToDate.getTime() <= Date.now()) throw new CaError(`CA certificate ${certPath} expired on ${cert.validTo}`);
  try {
    importSigningKey(key);
  } catch (e) {
    throw new CaError(`${keyPath}: ${(e as Error).message} (use ECDSA P-256/P-384 or RSA)`);
  }
  await warnIfReadable(keyPath, log);
  log?.debug({ ca: certPath, fingerprint256: cert.fingerprint256 }, 'ca loaded');
  // Re-exported as PKCS#8 so a SEC1 file with an "EC PARAMETERS" block in front still yields one clean key.
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return makeCa(cert.toString(), certPath, keyPem, cert.fingerprint256);
}

/**
 * Create the CA without ever exposing half a file or a mismatched pair, even when two Sluices start at
 * once on one stateDir: each writes its own temporary files, then claims ca-key.pem with link(2), which
 * fails with EEXIST for everyone but the first. Only the winner then renames its ca.pem into place; the
 * others discard their pair and load the winner's once its ca.pem appears. ca.pem is written last, so
 * "ca.pem exists" implies the matching key is already there.
 */
async function createCaFiles(stateDir: string, certPath: string, keyPath: string, log?: Logger): Promise<CertificateAuthority> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = await generateCa();
  const suffix = `.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const tmpKey = keyPath + suffix;
  const tmpCert = certPath + suffix;
  try {
    await writeDurably(tmpKey, keyPem, 0o600);
    await writeDurably(tmpCert, certPem, 0o644);
    try {
      await fs.link(tmpKey, keyPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await waitForFile(certPath, keyPath);
      return loadCaFiles(certPath, keyPath, log);
    }
    await fs.rename(tmpCert, certPath);
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError(`cannot create the CA in ${stateDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    await fs.rm(tmpKey, { force: true });
    await fs.rm(tmpCert, { force: true });
  }
  const ca = await loadCaFiles(certPath, keyPath);
  log?.info({ ca: certPath, fingerprint256: ca.fingerprint256 }, 'ca created');
  return ca;
}

async function generateCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateP256();
  const now = Date.now();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    // A random id in the name tells two installations' CAs apart in a trust store listing.
    name: [{ CN: [`Sluice CA ${crypto.randomBytes(4).toString('hex')}`] }],
    keys,
    serialNumber: randomSerialHex(),
    // An hour of slack for clients whose clock is a little behind ours.
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      // pathLen 0: this CA signs leaves only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

function makeCa(certPem: string, certPath: string, keyPem: string, fingerprint256: string): CertificateAuthority {
  const ca = { certPem, certPath, fingerprint256 };
  Object.defineProperty(ca, 'keyPem', { value: keyPem, enumerable: false });
  return Object.freeze(ca) as CertificateAuthority;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new CaError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function writeDurably(file: string, data: string, mode: number): Promise<void> {
  const handle = await fs.open(file, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The winner writes ca.pem milliseconds after ca-key.pem, so an old key alone is a leftover, not a race. */
async function waitForFile(certPath: string, keyPath: string): Promise<void> {
  const keyWritten = (await fs.stat(keyPath)).mtimeMs;
  const deadline = Math.min(Date.now(), keyWritten) + CREATE_WAIT_MS;
  while (Date.now() < deadline) {
    if (await exists(certPath)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new CaError(
    `${keyPath} exists but ${certPath} does not: an earlier run stopped while creating the CA; delete ${keyPath} to create a new one`,
  );
}

async function warnIfReadable(keyPath: string, log?: Logger): Promise<void> {
  const { mode } = await fs.stat(keyPath);
  if ((mode & 0o077) !== 0) {
    log?.warn({ key: keyPath, mode: (mode & 0o777).toString(8) }, 'ca key is readable by other users: chmod 600 it');
  }
}
