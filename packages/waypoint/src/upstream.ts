import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatSpiffeId, type HboneClient } from '@waypoint/hbone';
import type { EndpointIR } from '@waypoint/config';

/** One upstream endpoint, and the identity it must prove when reached over HBONE. */
export interface UpstreamEndpoint {
  address: string;
  port: number;
  /** `spiffe://…` of the endpoint's service account, when the config names it. */
  identity?: string;
}

/** How bytes reach an endpoint: straight TCP, or an HBONE tunnel to its node's ztunnel. */
export interface UpstreamTransport {
  readonly kind: 'plain' | 'hbone';
  open(endpoint: UpstreamEndpoint): Promise<Duplex>;
}

export function plainTransport(connectTimeoutMs: number): UpstreamTransport {
  return {
    kind: 'plain',
    open: (ep) =>
      new Promise((resolve, reject) => {
        const socket = netConnect({ host: ep.address, port: ep.port, noDelay: true });
        const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect to ${ep.address}:${ep.port} timed out`), { code: 'UPSTREAM_CONNECT_TIMEOUT' })), connectTimeoutMs);
        socket.once('connect', () => (clearTimeout(timer), resolve(socket)));
        socket.once('error', (e) => (clearTimeout(timer), reject(e)));
      }),
  };
}

/** CONNECT to `<endpoint ip>:<hbonePort>` with authority `<endpoint ip>:<target port>`. */
export function hboneTransport(client: HboneClient, hbonePort: number): UpstreamTransport {
  return {
    kind: 'hbone',
    open: (ep) =>
      client.open({
        address: ep.address,
        port: hbonePort,
        authority: endpointKey(ep.address, ep.port),
        ...(ep.identity ? { expectedIdentity: ep.identity } : {}),
      }),
  };
}

/** `ip:port`, with IPv6 addresses in brackets: Envoy's %UPSTREAM_HOST%. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The upstream endpoint for an EndpointIR, with the SPIFFE ID its pod's service account implies. */
export function upstreamEndpoint(e: Pick<EndpointIR, 'address' | 'port' | 'pod' | 'serviceAccount'>, trustDomain: string | undefined): UpstreamEndpoint {
  const namespace = e.pod?.split('/')[0];
  return {
    address: e.address,
    port: e.port,
    ...(trustDomain && namespace && e.serviceAccount ? { identity: formatSpiffeId({ trustDomain, namespace, serviceAccount: e.serviceAccount }) } : {}),
  };
}
