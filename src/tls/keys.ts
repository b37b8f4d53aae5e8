// Key material helpers shared by the CA and the leaf minter. Private keys travel as PEM strings only
// between these files and node:tls; they are never logged.
import crypto from 'node:crypto';
import { webcrypto } from './x509.ts';

type CryptoKey = crypto.webcrypto.CryptoKey;
export type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

export type SigningAlgorithm = { name: 'ECDSA'; hash: 'SHA-256' | 'SHA-384' } | { name: 'RSASSA-PKCS1-v1_5'; hash: 'SHA-256' };

export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly algorithm: SigningAlgorithm;
}

/** ECDSA P-256: small, fast to sign and verify, accepted by every TLS client we care about. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export async function generateP256(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * Turn a CA private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1, as openssl writes them) into a WebCrypto
 * signing key. Sluice creates P-256 CAs; an operator-supplied CA may also be P-384 or RSA.
 */
export function importSigningKey(key: crypto.KeyObject): SigningKey {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && (details?.namedCurve === 'prime256v1' || details?.namedCurve === 'secp384r1')) {
    const p384 = details.namedCurve === 'secp384r1';
    const privateKey = key.toCryptoKey({ name: 'ECDSA', namedCurve: p384 ? 'P-384' : 'P-256' }, false, ['sign']);
    return { privateKey, algorithm: { name: 'ECDSA', hash: p384 ? 'SHA-384' : 'SHA-256' } };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const privateKey = key.toCryptoKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { privateKey, algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
  throw new TypeError(`unsupported CA key type ${key.asymmetricKeyType ?? 'unknown'} ${details?.namedCurve ?? ''}`.trim());
}

/**
 * A positive serial of 16 random bytes (RFC 5280 §4.1.2.2 allows up to 20 octets; CA/B Forum asks for at
 * least 64 random bits so certificate contents cannot be predicted). The top bit is cleared so the DER
 * INTEGER stays positive, and the first byte is non-zero so it is not re-encoded shorter.
 */
export function randomSerialBytes(): Buffer {
  const bytes = crypto.randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes;
}

/** randomSerialBytes as hex, for @peculiar/x509's generator (the CA). */
export function randomSerialHex(): string {
  return randomSerialBytes().toString('hex');
}
