// Leaf certificates for intercepted hosts, signed by Sluice's CA.
import crypto from 'node:crypto';
import net from 'node:net';
import type { CertificateAuthority } from './ca.ts';
import { generateP256, importSigningKey, privateKeyPem, randomSerialHex, type SigningKey } from './keys.ts';
import { x509 } from './x509.ts';

export interface MintedLeaf {
  readonly certPem: string;
  /** Shared by every leaf of one minter (see createLeafMinter). */
  readonly keyPem: string;
  readonly notAfter: Date;
}

export interface LeafMinter {
  mintLeafCertificate(host: string): Promise<MintedLeaf>;
}

/** Leaves live about a month: long enough to cache, short enough that a leaked one soon stops mattering. */
const LEAF_VALIDITY_MS = 30 * 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** RFC 5280 upper bound for a CommonName (ub-common-name). */
const MAX_CN_LENGTH = 64;
/** A lower-case DNS name (underscores tolerated, as real hostnames have them); no wildcard, no trailing dot. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * One leaf key pair per minter, reused for every host. This is what mitmproxy does, and it is sound here:
 * the leaf key never leaves this process, which also holds the CA key that could sign anything, so
 * per-host keys would isolate nothing; and key generation is the expensive part of minting, so sharing it
 * keeps a first request to a new host cheap.
 */
export async function createLeafMinter(ca: CertificateAuthority): Promise<LeafMinter> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const signing: SigningKey = importSigningKey(crypto.createPrivateKey(ca.keyPem));
  const leafKeys = await generateP256();
  const keyPem = await privateKeyPem(leafKeys.privateKey);
  // Exported once: handing the generator a CryptoKey would re-export the SPKI on every mint.
  const publicKey = await x509.PublicKey.create(leafKeys.publicKey);
  // Extensions that are the same for every leaf, built once.
  const fixed = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    await authorityKeyIdentifier(caCert),
  ];
  const caNotBefore = caCert.notBefore.getTime();
  const caNotAfter = caCert.notAfter.getTime();
  return {
    async mintLeafCertificate(host: string): Promise<MintedLeaf> {
      const san = subjectAltName(host);
      // CN is legacy (clients match the SAN), but OpenSSL's X509_check_host still falls back to it when
      // there is no DNS SAN: so a name goes in only when it is that same DNS name, never an IP literal.
      const subject = net.isIP(host) === 0 && host.length <= MAX_CN_LENGTH ? [{ CN: [host] }] : [{ O: ['Sluice'] }];
      const now = Date.now();
      const notAfter = new Date(Math.min(caNotAfter, now + LEAF_VALIDITY_MS));
      const cert = await x509.X509CertificateGenerator.create({
        subject,
        // The CA's own encoded name, so issuer/subject chaining compares equal byte for byte.
        issuer: caCert.subjectName,
        publicKey,
        signingKey: signing.privateKey,
        signingAlgorithm: signing.algorithm,
        serialNumber: randomSerialHex(),
        // Within the CA's own validity: some validators (and our tests) expect the leaf's period nested in it.
        notBefore: new Date(Math.max(caNotBefore, now - CLOCK_SKEW_MS)),
        notAfter,
        extensions: [...fixed, san],
      });
      return { certPem: cert.toString('pem') + '\n', keyPem, notAfter };
    },
  };
}

/**
 * Exactly the host, as a DNS or IP SAN, never a wildcard: a leaf for `*.example.test` minted because one
 * name under it was allowed would also vouch for every sibling name (THREATS 2.9). Hosts must arrive
 * canonical (lower case, no brackets, no trailing dot) so one host has one cache entry and one leaf.
 */
export function subjectAltName(host: string): x509.SubjectAlternativeNameExtension {
  assertLeafHost(host);
  const type = net.isIP(host) !== 0 ? 'ip' : 'dns';
  return new x509.SubjectAlternativeNameExtension([{ type, value: host }], false);
}

/** Throws a TypeError unless `host` is an IP literal or a canonical DNS name (no wildcard). */
export function assertLeafHost(host: string): void {
  if (net.isIP(host) === 0 && !DNS_NAME.test(host)) {
    throw new TypeError(`not a canonical host name for a leaf certificate: ${JSON.stringify(host)}`);
  }
}

/** AKI must equal the CA's SKI; reuse it when present (an operator's CA may hash its key differently). */
async function authorityKeyIdentifier(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  return x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false);
}
