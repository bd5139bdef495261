/**
 * node:http2 and node:tls, loaded when first used rather than when this package is imported. Loading
 * them costs a process about 7 MB of resident memory (Node 24), which a waypoint that only ever speaks
 * plain HTTP/1.1 does not need to pay. Type-only imports of them cost nothing.
 */
export const http2 = (): typeof import('node:http2') => process.getBuiltinModule('node:http2');
export const tls = (): typeof import('node:tls') => process.getBuiltinModule('node:tls');
