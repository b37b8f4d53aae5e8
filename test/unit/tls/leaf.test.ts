import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLeafCache, createLeafMinter, loadOrCreateCa, type CertificateAuthority } from '../../../src/tls/index.ts';
import { connect, openssl, opensslCa, sniServer, tempDirs, tlsServer, type TestServer } from './helpers.ts';

const dirs = tempDirs('leaf');
const servers: TestServer[] = [];
let ca: CertificateAuthority;

beforeAll(async () => {
  ca = await loadOrCreateCa({ stateDir: await dirs.make(), certPath: null, keyPath: null, create: true });
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(server: Promise<TestServer>): Promise<TestServer> {
  const s = await server;
  servers.push(s);
  return s;
}

describe('leaf certificates through a real TLS handshake', () => {
  it('is trusted by node:tls for the exact host it was minted for', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    const { port } = await serve(sniServer(cache));
    const seen = await connect(port, { servername: 'api.example.test', ca: ca.certPem });
    expect(seen.authorizationError).toBeNull();
    expect(seen.authorized).toBe(true);
    expect(seen.cert.subjectaltname).toBe('DNS:api.example.test');
  });

  it('vouches for no other name: not a sibling, not a subdomain, not the parent', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    const { port } = await serve(sniServer(cache));
    const { cert } = await connect(port, { servername: 'a.test', ca: ca.certPem });
    expect(tls.checkServerIdentity('a.test', cert)).toBeUndefined();
    for (const other of ['other.test', 'sub.a.test', 'test', 'a.test.evil.test']) {
      expect(tls.checkServerIdentity(other, cert), other).toBeInstanceOf(Error);
    }
  });

  it('is refused by a client that does not trust the CA (the test can fail)', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    const { port } = await serve(sniServer(cache));
    const other = await loadOrCreateCa({ stateDir: await dirs.make(), certPath: null, keyPath: null, create: true });
    const seen = await connect(port, { servername: 'a.test', ca: other.certPem, rejectUnauthorized: false });
    expect(seen.authorized).toBe(false);
  });

  it('mints an IP SAN for an IP literal, valid for that address only', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    // Clients send no SNI for an IP literal (RFC 6066 §3), so the context is the server's default one.
    const { port } = await serve(tlsServer({ secureContext: await cache.contextFor('127.0.0.1') }));
    const seen = await connect(port, { ca: ca.certPem });
    expect(seen.authorized).toBe(true);
    expect(seen.cert.subjectaltname).toBe('IP Address:127.0.0.1');
    expect(tls.checkServerIdentity('127.0.0.2', seen.cert)).toBeInstanceOf(Error);

    const minter = await createLeafMinter(ca);
    const v6 = new crypto.X509Certificate((await minter.mintLeafCertificate('::1')).certPem);
    expect(v6.checkIP('::1')).toBe('::1');
    expect(v6.checkIP('::2')).toBeUndefined();
    // No name anywhere that a host-name check could fall back to (X509_check_host reads CN without DNS SANs).
    expect(v6.checkHost('::1')).toBeUndefined();
    expect(v6.subject).toBe('O=Sluice');
  });

  // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so a refusal is the server's doing; the control
  // below shows the same client getting through to a context that allows 1.1.
  const tls11Client: tls.ConnectionOptions = {
    servername: 'a.test',
    minVersion: 'TLSv1.1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  };

  it('refuses TLS 1.1 clients with the cached context, and serves TLS 1.2 and 1.3 ones', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    const direct = await serve(tlsServer({ secureContext: await cache.contextFor('a.test') }));
    const bySni = await serve(sniServer(cache));
    for (const { port } of [direct, bySni]) {
      await expect(connect(port, { ...tls11Client, ca: ca.certPem })).rejects.toThrow(/protocol version|unsupported protocol/i);
      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        const seen = await connect(port, { servername: 'a.test', ca: ca.certPem, minVersion: version, maxVersion: version });
        expect(seen.protocol).toBe(version);
        expect(seen.authorized).toBe(true);
      }
    }
  });

  it('control: the same TLS 1.1 client does connect to a context that allows 1.1', async () => {
    const leaf = await (await createLeafMinter(ca)).mintLeafCertificate('a.test');
    const lax = tls.createSecureContext({
      key: leaf.keyPem,
      cert: leaf.certPem + ca.certPem,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const { port } = await serve(tlsServer({ secureContext: lax }));
    const seen = await connect(port, { ...tls11Client, ca: ca.certPem });
    expect(seen.protocol).toBe('TLSv1.1');
  });
});

describe('leaf certificate contents', () => {
  it('openssl verifies it as a server certificate under strict X.509 rules', async () => {
    const dir = await dirs.make();
    const leaf = await (await createLeafMinter(ca)).mintLeafCertificate('api.example.test');
    const leafPath = path.join(dir, 'leaf.pem');
    await fs.writeFile(leafPath, leaf.certPem);
    const verify = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', 'api.example.test', '-CAfile', ca.certPath, leafPath]);
    expect(verify).toContain(': OK');
    expect(() =>
      openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', 'other.test', '-CAfile', ca.certPath, leafPath]),
    ).toThrow();

    const text = openssl(['x509', '-in', leafPath, '-noout', '-text']);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/Subject Alternative Name:\s+DNS:api\.example\.test\n/);
    expect(text).toContain('prime256v1');
    const caSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(openssl(['x509', '-in', ca.certPath, '-noout', '-text']))?.[1];
    expect(caSki).toBeDefined();
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caSki}`));
  });

  it('has a random positive 16-byte serial, notBefore an hour back and about 30 days of life', async () => {
    const minter = await createLeafMinter(ca);
    const before = Date.now();
    const a = new crypto.X509Certificate((await minter.mintLeafCertificate('a.test')).certPem);
    const b = new crypto.X509Certificate((await minter.mintLeafCertificate('a.test')).certPem);
    expect(a.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    const hour = 3600_000;
    const notBefore = Date.parse(a.validFrom);
    expect(notBefore).toBeLessThanOrEqual(before - hour + 1000);
    expect(notBefore).toBeGreaterThan(before - hour - 5000);
    const days = (Date.parse(a.validTo) - before) / (24 * hour);
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30.01);
    expect(a.issuer).toBe(new crypto.X509Certificate(ca.certPem).subject);
  });

  it('never outlives a CA that expires sooner', async () => {
    const dir = await dirs.make();
    const files = opensslCa(dir, 2);
    const shortCa = await loadOrCreateCa({ stateDir: dir, certPath: files.cert, keyPath: files.key, create: false });
    const leaf = await (await createLeafMinter(shortCa)).mintLeafCertificate('a.test');
    const caCert = new crypto.X509Certificate(shortCa.certPem);
    const leafCert = new crypto.X509Certificate(leaf.certPem);
    expect(Date.parse(leafCert.validTo)).toBe(Date.parse(caCert.validTo));
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
  });

  it('rejects names that are not canonical or are wildcards, and accepts the near misses', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    for (const bad of ['*.a.test', '*', 'A.TEST', 'a.test.', '', '[::1]', 'a..test', 'a test', 'a.test:443', '-a.test']) {
      await expect(cache.contextFor(bad), JSON.stringify(bad)).rejects.toThrow(TypeError);
    }
    expect(cache.mints).toBe(0);
    expect(cache.size).toBe(0);
    for (const good of ['under_score.test', 'xn--bcher-kva.test', 'a-b.c-d.test', `${'a'.repeat(63)}.test`]) {
      await expect(cache.contextFor(good)).resolves.toBeDefined();
    }
  });

  it.each([
    ['RSA 2048', ['-newkey', 'rsa:2048'], 'sha256WithRSAEncryption'],
    ['P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1'], 'ecdsa-with-SHA384'],
    ['P-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], 'ecdsa-with-SHA256'],
  ])('an operator CA with a %s key signs leaves that openssl and node:tls accept', async (_label, keyArgs, algorithm) => {
    const dir = await dirs.make();
    const cert = path.join(dir, 'op.pem');
    const key = path.join(dir, 'op-key.pem');
    openssl(['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/C=KR/O=Operator/CN=Operator CA',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const opCa = await loadOrCreateCa({ stateDir: dir, certPath: cert, keyPath: key, create: false });
    const leaf = await (await createLeafMinter(opCa)).mintLeafCertificate('api.example.test');
    const leafPath = path.join(dir, 'leaf.pem');
    await fs.writeFile(leafPath, leaf.certPem);
    expect(openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', 'api.example.test', '-CAfile', cert, leafPath])).toContain(': OK');
    const text = openssl(['x509', '-in', leafPath, '-noout', '-text']);
    expect(text).toContain(`Signature Algorithm: ${algorithm}`);
    expect(text).toMatch(/Issuer: C ?= ?KR, O ?= ?Operator, CN ?= ?Operator CA/);
    // And a real handshake against that chain (the cache adds the CA to the chain).
    const { port } = await serve(sniServer(createLeafCache(opCa, { max: 2 })));
    const seen = await connect(port, { servername: 'api.example.test', ca: opCa.certPem });
    expect(seen.authorized).toBe(true);
    // The near miss: a client trusting only another operator CA refuses the chain.
    const other = opensslCa(await dirs.make(), 30, 'other');
    await expect(connect(port, { servername: 'api.example.test', ca: await fs.readFile(other.cert, 'utf8') })).rejects.toThrow(/self-signed certificate in certificate chain/);
  });

  it('handles a host name longer than a CommonName may be', async () => {
    const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.test`;
    const cert = new crypto.X509Certificate((await (await createLeafMinter(ca)).mintLeafCertificate(host)).certPem);
    expect(cert.subjectAltName).toBe(`DNS:${host}`);
    expect(cert.checkHost(host)).toBe(host);
  });
});

describe('leaf cache', () => {
  it('mints once for 50 concurrent first requests for one host', async () => {
    const cache = createLeafCache(ca, { max: 10 });
    const contexts = await Promise.all(Array.from({ length: 50 }, () => cache.contextFor('a.test')));
    expect(cache.mints).toBe(1);
    expect(cache.size).toBe(1);
    expect(new Set(contexts).size).toBe(1);
    await cache.contextFor('a.test');
    expect(cache.mints).toBe(1);
  });

  it('stays within its bound and re-mints what it evicted, least recently used first', async () => {
    const cache = createLeafCache(ca, { max: 3 });
    for (const host of ['h1.test', 'h2.test', 'h3.test', 'h4.test', 'h5.test']) await cache.contextFor(host);
    expect(cache.size).toBe(3);
    expect(cache.mints).toBe(5);
    await cache.contextFor('h5.test');
    expect(cache.mints).toBe(5);
    await cache.contextFor('h1.test');
    expect(cache.mints).toBe(6);
    expect(cache.size).toBe(3);
  });

  it('two caches on one CA are independent (no shared module state)', async () => {
    const one = createLeafCache(ca, { max: 3 });
    const two = createLeafCache(ca, { max: 3 });
    await one.contextFor('a.test');
    expect(one.mints).toBe(1);
    expect(two.mints).toBe(0);
    expect(two.size).toBe(0);
  });
});
