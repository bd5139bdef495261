import type { ClientHttp2Session } from 'node:http2';
import { http2 } from '@waypoint/hbone';
import { poolKey } from './upstream-pools.ts';
import { endpointKey, type UpstreamEndpoint, type UpstreamTransport } from './upstream.ts';

/**
 * HTTP/2 with prior knowledge (h2c) to backends whose Service port says so (appProtocol http2, grpc,
 * kubernetes.io/h2c): one multiplexed session per endpoint, over plain TCP or an HBONE tunnel.
 */
export class H2Upstreams {
  readonly #sessions = new Map<string, Promise<ClientHttp2Session>>();
  readonly #transport: UpstreamTransport;

  constructor(transport: UpstreamTransport) {
    this.#transport = transport;
  }

  session(endpoint: UpstreamEndpoint): Promise<ClientHttp2Session> {
    const key = poolKey(endpoint);
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    const opened = this.#transport.open(endpoint).then((socket) => {
      const session = http2().connect(`http://${endpointKey(endpoint.address, endpoint.port)}`, { createConnection: () => socket as never });
      session.on('error', () => undefined); // its streams report the failure
      const forget = () => {
        if (this.#sessions.get(key) === opened) this.#sessions.delete(key);
      };
      session.once('close', forget);
      session.once('goaway', forget);
      return session;
    });
    opened.catch(() => this.#sessions.get(key) === opened && this.#sessions.delete(key));
    this.#sessions.set(key, opened);
    return opened;
  }

  close(): void {
    for (const s of this.#sessions.values()) s.then((x) => x.close()).catch(() => undefined);
    this.#sessions.clear();
  }
}
