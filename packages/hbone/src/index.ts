export { forwardedFor, formatAuthority, parseIpAuthority } from './authority.ts';
export { ConnectRefusedError, HboneClient, type OpenOptions } from './client.ts';
export { CredentialStore, describeCredentials, loadCredentials, type CredentialPaths, type Credentials } from './credentials.ts';
export { formatSpiffeId, parseSpiffeId, spiffeIdOf, uriSans, type SpiffeId } from './identity.ts';
export { HboneServer, type ConnectRequest, type HboneServerOptions, type TunnelPeer } from './server.ts';
export { HBONE } from './settings.ts';
export { http2, tls } from './builtins.ts';
