import { Pool } from 'undici';
import type { UpstreamEndpoint, UpstreamTransport } from './upstream.ts';

export interface UpstreamPoolOptions {
  /** Istio's default cluster connect timeout is 10 s. */
  connectTimeoutMs: number;
  transport: UpstreamTransport;
}

/** Keep-alive HTTP/1.1 connection pools, one per upstream endpoint; over HBONE each connection is a tunnel. */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #options: UpstreamPoolOptions;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  get transport(): UpstreamTransport {
    return this.#options.transport;
  }

  get(endpoint: UpstreamEndpoint): Pool {
    const key = poolKey(endpoint);
    let pool = this.#pools.get(key);
    if (!pool) {
      const transport = this.#options.transport;
      pool = new Pool(`http://${endpointKey(endpoint.address, endpoint.port)}`, {
        connections: null,
        pipelining: 1,
        connectTimeout: this.#options.connectTimeoutMs,
        // No route timeout by default (Istio); the stream idle timeout is Envoy's 5 minutes.
        headersTimeout: 300_000,
        bodyTimeout: 300_000,
        keepAliveTimeout: 60_000,
        strictContentLength: true,
        ...(transport.kind === 'hbone'
          ? {
              connect: (_opts: unknown, callback: (err: Error | null, socket: never) => void) => {
                transport.open(endpoint).then(
                  (s) => callback(null, s as never),
                  (e: Error) => callback(e, null as never),
                );
              },
            }
          : {}),
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Closes, once their requests finish, the pools whose endpoint is no longer in the config. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of this.#pools) {
      if (keep.has(key)) continue;
      this.#pools.delete(key);
      pool.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}

/** `ip:port`, with IPv6 addresses in brackets: Envoy's %UPSTREAM_HOST%. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function poolKey(e: UpstreamEndpoint): string {
  return e.identity ? `${endpointKey(e.address, e.port)}|${e.identity}` : endpointKey(e.address, e.port);
}
