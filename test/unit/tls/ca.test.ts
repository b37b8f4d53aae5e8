import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { inspect, promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CaError, createLeafMinter, loadOrCreateCa } from '../../../src/tls/index.ts';
import { openssl, opensslCa, tempDirs } from './helpers.ts';

const dirs = tempDirs('ca');
afterEach(() => dirs.cleanup());

const fresh = (stateDir: string, create = true) => ({ stateDir, certPath: null, keyPath: null, create });

describe('loadOrCreateCa: created under stateDir', () => {
  it('creates ca.pem and a 0600 ca-key.pem in a new 0700 state dir, and leaves no temp files', async () => {
    const stateDir = path.join(await dirs.make(), 'nested', 'state');
    const ca = await loadOrCreateCa(fresh(stateDir));

    expect(ca.certPath).toBe(path.join(stateDir, 'ca.pem'));
    expect((await fs.stat(path.join(stateDir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await fs.readdir(stateDir)).sort()).toEqual(['ca-key.pem', 'ca.pem']);
    expect(await fs.readFile(ca.certPath, 'utf8')).toBe(ca.certPem);

    const cert = new crypto.X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.fingerprint256).toBe(ca.fingerprint256);
    expect(cert.subject).toMatch(/^CN=Sluice CA [0-9a-f]{8}$/);
    expect(cert.checkPrivateKey(crypto.createPrivateKey(ca.keyPem))).toBe(true);
    const years = (Date.parse(cert.validTo) - Date.now()) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
  });

  it('openssl reads it as a P-256 CA limited to signing leaves', async () => {
    const ca = await loadOrCreateCa(fresh(await dirs.make()));
    const text = openssl(['x509', '-in', ca.certPath, '-noout', '-text']);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toContain('prime256v1');
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('ecdsa-with-SHA256');
    expect(text).toContain('Subject Key Identifier');
  });

  it('reloads the same CA on the next start (create or not)', async () => {
    const stateDir = await dirs.make();
    const first = await loadOrCreateCa(fresh(stateDir));
    const second = await loadOrCreateCa(fresh(stateDir));
    const readOnly = await loadOrCreateCa(fresh(stateDir, false));
    expect(second.fingerprint256).toBe(first.fingerprint256);
    expect(readOnly.fingerprint256).toBe(first.fingerprint256);
    expect(second.keyPem).toBe(first.keyPem);
  });

  it('with create=false and no CA, says how to create one (and creates nothing)', async () => {
    const stateDir = await dirs.make();
    const attempt = loadOrCreateCa(fresh(stateDir, false));
    await expect(attempt).rejects.toThrow(CaError);
    await expect(attempt).rejects.toThrow(`no CA certificate at ${path.join(stateDir, 'ca.pem')}: run "sluice ca init"`);
    expect(await fs.readdir(stateDir)).toEqual([]);
  });

  it('never prints the private key when the CA object is logged', async () => {
    const ca = await loadOrCreateCa(fresh(await dirs.make()));
    expect(ca.keyPem).toContain('PRIVATE KEY');
    expect(JSON.stringify(ca)).not.toContain('PRIVATE KEY');
    expect(inspect(ca, { depth: 5 })).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(ca)).toContain(ca.fingerprint256);
  });

  it('many concurrent starts on one empty state dir agree on one CA (in-process)', async () => {
    const stateDir = await dirs.make();
    const cas = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateCa(fresh(stateDir))));
    expect(new Set(cas.map((c) => c.fingerprint256)).size).toBe(1);
    expect((await fs.readdir(stateDir)).sort()).toEqual(['ca-key.pem', 'ca.pem']);
  });

  it('separate processes starting at once agree on one CA whose key matches', async () => {
    const stateDir = await dirs.make();
    const script = path.join(await dirs.make(), 'create.mjs');
    const entry = fileURLToPath(new URL('../../../src/tls/index.ts', import.meta.url));
    await fs.writeFile(
      script,
      `import { loadOrCreateCa } from ${JSON.stringify(entry)};\n` +
        `const ca = await loadOrCreateCa({ stateDir: process.argv[2], certPath: null, keyPath: null, create: true });\n` +
        `process.stdout.write(ca.fingerprint256);\n`,
    );
    const run = promisify(execFile);
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, [script, stateDir])));
    const prints = new Set(outputs.map((o) => o.stdout));
    expect(prints.size).toBe(1);
    const reloaded = await loadOrCreateCa(fresh(stateDir, false));
    expect(prints.has(reloaded.fingerprint256)).toBe(true);
  });

  it('a key left without its certificate by a crashed run is reported, not silently replaced', async () => {
    const stateDir = await dirs.make();
    const made = await loadOrCreateCa(fresh(stateDir));
    await fs.rm(made.certPath);
    const keyPath = path.join(stateDir, 'ca-key.pem');
    const anHourAgo = new Date(Date.now() - 3600_000);
    await fs.utimes(keyPath, anHourAgo, anHourAgo);
    await expect(loadOrCreateCa(fresh(stateDir))).rejects.toThrow(/ca-key\.pem exists but .*ca\.pem does not/);
    expect(await fs.readFile(keyPath, 'utf8')).toBe(made.keyPem);
  });
});

describe('loadOrCreateCa: configured files', () => {
  it('loads an operator CA made by openssl (PKCS#8 and SEC1 keys) and keeps its path', async () => {
    const dir = await dirs.make();
    const { cert, key } = opensslCa(dir, 30);
    const sec1 = path.join(dir, 'sec1.pem');
    openssl(['ec', '-in', key, '-out', sec1]);
    expect(await fs.readFile(sec1, 'utf8')).toContain('BEGIN EC PRIVATE KEY');

    const expected = new crypto.X509Certificate(await fs.readFile(cert)).fingerprint256;
    for (const keyPath of [key, sec1]) {
      const ca = await loadOrCreateCa({ stateDir: path.join(dir, 'unused'), certPath: cert, keyPath, create: true });
      expect(ca.fingerprint256).toBe(expected);
      expect(ca.certPath).toBe(cert);
    }
    // Configured files mean stateDir is not touched.
    await expect(fs.access(path.join(dir, 'unused'))).rejects.toThrow();
  });

  it('loads an `openssl ecparam -genkey` key (EC PARAMETERS block first) and signs leaves with it', async () => {
    const dir = await dirs.make();
    const key = path.join(dir, 'ecparam-key.pem');
    const cert = path.join(dir, 'ecparam.pem');
    await fs.writeFile(key, openssl(['ecparam', '-name', 'prime256v1', '-genkey']));
    expect(await fs.readFile(key, 'utf8')).toMatch(/^-----BEGIN EC PARAMETERS-----[\s\S]+BEGIN EC PRIVATE KEY/);
    openssl([
      'req', '-x509', '-new', '-key', key, '-out', cert, '-days', '30', '-subj', '/CN=Param CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
    ]);
    const ca = await loadOrCreateCa({ stateDir: dir, certPath: cert, keyPath: key, create: false });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const leaf = await (await createLeafMinter(ca)).mintLeafCertificate('a.test');
    expect(new crypto.X509Certificate(leaf.certPem).verify(new crypto.X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  it('refuses a key that does not belong to the certificate, naming both files', async () => {
    const dir = await dirs.make();
    const a = opensslCa(dir, 30, 'a');
    const b = opensslCa(dir, 30, 'b');
    const attempt = loadOrCreateCa({ stateDir: dir, certPath: a.cert, keyPath: b.key, create: true });
    await expect(attempt).rejects.toThrow(CaError);
    await expect(attempt).rejects.toThrow(`CA key ${b.key} does not match certificate ${a.cert}`);
  });

  it('names the missing or unreadable file', async () => {
    const dir = await dirs.make();
    const { cert } = opensslCa(dir, 30);
    const missing = path.join(dir, 'nope-key.pem');
    await expect(loadOrCreateCa({ stateDir: dir, certPath: cert, keyPath: missing, create: true })).rejects.toThrow(
      `cannot read CA private key ${missing}: ENOENT`,
    );
    const garbage = path.join(dir, 'garbage.pem');
    await fs.writeFile(garbage, 'not a certificate');
    await expect(loadOrCreateCa({ stateDir: dir, certPath: garbage, keyPath: missing, create: true })).rejects.toThrow(
      `cannot read CA private key ${missing}`,
    );
    const { key } = opensslCa(dir, 30, 'other');
    await expect(loadOrCreateCa({ stateDir: dir, certPath: garbage, keyPath: key, create: true })).rejects.toThrow(
      `${garbage} is not a PEM certificate`,
    );
  });

  it('requires cert and key together', async () => {
    const dir = await dirs.make();
    const { cert } = opensslCa(dir, 30);
    await expect(loadOrCreateCa({ stateDir: dir, certPath: cert, keyPath: null, create: true })).rejects.toThrow(
      'ca.cert and ca.key must be set together',
    );
  });

  it('refuses a certificate that is not a CA (a leaf cannot sign leaves)', async () => {
    const dir = await dirs.make();
    const cert = path.join(dir, 'leaf.pem');
    const key = path.join(dir, 'leaf-key.pem');
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
      '-out', cert, '-days', '30', '-subj', '/CN=leaf.test', '-addext', 'basicConstraints=critical,CA:FALSE',
    ]);
    await expect(loadOrCreateCa({ stateDir: dir, certPath: cert, keyPath: key, create: true })).rejects.toThrow(
      `${cert} is not a CA certificate`,
    );
  });
});
