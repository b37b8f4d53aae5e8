export { loadOrCreateCa, CaError, type CertificateAuthority, type CaOptions } from './ca.ts';
export { createLeafCache, type LeafCache } from './cache.ts';
export { createLeafMinter, type LeafMinter, type MintedLeaf } from './mint.ts';
