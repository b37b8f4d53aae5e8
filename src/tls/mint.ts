// Leaf certificates for intercepted hosts, signed by Sluice's CA.
// The extensions that are the same for every leaf are built once with @peculiar/x509's typed builders; each mint
// then fills a TBSCertificate of @peculiar/asn1-x509 (the schema package @peculiar/x509 itself encodes with) and
// signs it with node:crypto. The generator of @peculiar/x509 would cost about 2.9 ms a leaf: it re-encodes
// every fixed part, signs through async WebCrypto and parses its own output back; this path costs about 0.8 ms,
// and a first request to a new host waits for it. The DER is still written by the schema library, never by hand.
import crypto from 'node:crypto';
import net from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';
import type { CertificateAuthority } from './ca.ts';
import { generateP256, importSigningKey, privateKeyPem, randomSerialBytes, type SigningAlgorithm } from './keys.ts';
import { webcrypto, x509 } from './x509.ts';

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
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';

/** The signature algorithm as node:crypto's digest name and the AlgorithmIdentifier written into the leaf. */
function signatureAlgorithm(algorithm: SigningAlgorithm): { digest: string; identifier: asn.AlgorithmIdentifier } {
  if (algorithm.name === 'ECDSA') {
    // RFC 5758 §3.2: the ecdsa-with-SHA* identifiers carry no parameters.
    const oid = algorithm.hash === 'SHA-384' ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2';
    return { digest: algorithm.hash === 'SHA-384' ? 'sha384' : 'sha256', identifier: new asn.AlgorithmIdentifier({ algorithm: oid }) };
  }
  // RFC 4055 §5: sha256WithRSAEncryption has NULL parameters.
  return { digest: 'sha256', identifier: new asn.AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: new Uint8Array([0x05, 0x00]).buffer }) };
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function schemaExtension(ext: x509.Extension): asn.Extension {
  return AsnConvert.parse(ext.rawData, asn.Extension);
}

/**
 * One leaf key pair per minter, reused for every host. This is what mitmproxy does, and it is sound here:
 * the leaf key never leaves this process, which also holds the CA key that could sign anything, so
 * per-host keys would isolate nothing; and key generation is the expensive part of minting, so sharing it
 * keeps a first request to a new host cheap.
 */
export async function createLeafMinter(ca: CertificateAuthority): Promise<LeafMinter> {
  const caX509 = new x509.X509Certificate(ca.certPem);
  const caKey = crypto.createPrivateKey(ca.keyPem);
  const { digest, identifier } = signatureAlgorithm(importSigningKey(caKey).algorithm);
  // The CA's own encoded name, so issuer/subject chaining compares equal byte for byte.
  const issuer = AsnConvert.parse(caX509.subjectName.toArrayBuffer(), asn.Name);
  const leafKeys = await generateP256();
  const keyPem = await privateKeyPem(leafKeys.privateKey);
  const subjectPublicKeyInfo = AsnConvert.parse(await webcrypto.subtle.exportKey('spki', leafKeys.publicKey), asn.SubjectPublicKeyInfo);
  // Extensions that are the same for every leaf, built once.
  const fixed = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    await authorityKeyIdentifier(caX509),
  ].map(schemaExtension);
  const caNotBefore = caX509.notBefore.getTime();
  const caNotAfter = caX509.notAfter.getTime();
  return {
    async mintLeafCertificate(host: string): Promise<MintedLeaf> {
      const san = schemaExtension(subjectAltName(host));
      // CN is legacy (clients match the SAN), but OpenSSL's X509_check_host still falls back to it when
      // there is no DNS SAN: so a name goes in only when it is that same DNS name, never an IP literal.
      const named = net.isIP(host) === 0 && host.length <= MAX_CN_LENGTH;
      const subject = new asn.Name([
        new asn.RelativeDistinguishedName([
          new asn.AttributeTypeAndValue({ type: named ? OID_COMMON_NAME : OID_ORGANIZATION, value: new asn.AttributeValue({ utf8String: named ? host : 'Sluice' }) }),
        ]),
      ]);
      const now = Date.now();
      const notAfter = new Date(Math.min(caNotAfter, now + LEAF_VALIDITY_MS));
      const tbsCertificate = new asn.TBSCertificate({
        version: asn.Version.v3,
        serialNumber: toArrayBuffer(randomSerialBytes()),
        signature: identifier,
        issuer,
        // Within the CA's own validity: some validators (and our tests) expect the leaf's period nested in it.
        validity: new asn.Validity({ notBefore: new Date(Math.max(caNotBefore, now - CLOCK_SKEW_MS)), notAfter }),
        subject,
        subjectPublicKeyInfo,
        extensions: new asn.Extensions([...fixed, san]),
      });
      const signature = crypto.sign(digest, Buffer.from(AsnConvert.serialize(tbsCertificate)), { key: caKey, dsaEncoding: 'der' });
      const der = AsnConvert.serialize(new asn.Certificate({ tbsCertificate, signatureAlgorithm: identifier, signatureValue: toArrayBuffer(signature) }));
      // node:crypto writes the PEM, and parsing the DER once proves it is a certificate OpenSSL accepts.
      return { certPem: new crypto.X509Certificate(Buffer.from(der)).toString(), keyPem, notAfter };
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
