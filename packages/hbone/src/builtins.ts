/**
 * node:http2 and node:tls, loaded when first used rather than when this package is imported. Loading
 * them costs a process about 7 MB of resident memory (Node 24), which a waypoint that only ever speaks
 * plain HTTP/1.1 does not need to pay. Type-only imports of them cost nothing.
 */
export const http2 = (): typeof import('node:http2') => process.getBuiltinModule('node:http2');
export const tls = (): typeof import('node:tls') => process.getBuiltinModule('node:tls');
/**
 * node:crypto as its CommonJS exports: an ESM import of it builds the module's whole namespace, and reading
 * its webcrypto, subtle and getRandomValues exports loads Web Crypto, which only `waypoint certs` uses.
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
/** node:fs as its CommonJS exports: an ESM import's namespace would read `fs.promises`, which loads readline. */
export const fs = (): typeof import('node:fs') => process.getBuiltinModule('node:fs');
