// The one place @peculiar/x509 is imported. Why this library: it is maintained, pure JavaScript (no native
// build, no OpenSSL shell-outs), built on WebCrypto so keys stay CryptoKeys and signing runs in Node's
// native crypto, and it has typed builders for every extension we need (basicConstraints with pathLen,
// keyUsage, extKeyUsage, DNS and IP subjectAltNames, AKI/SKI). Hand-rolled ASN.1 is where certificate
// bugs live (wrong INTEGER padding, IP SANs encoded as text), so we do not write any.
// tsyringe (a dependency of @peculiar/x509) needs the Reflect metadata API; reflect-metadata is its standard provider.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Point the library at Node's WebCrypto explicitly instead of whatever global it would probe for; the
// value is the same for every caller, so setting it again is harmless.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };
