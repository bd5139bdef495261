import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  /** Istio's default cluster connect timeout is 10 s. */
  connectTimeoutMs: number;
}

/** Keep-alive HTTP/1.1 connection pools, one per upstream `ip:port`. */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #options: UpstreamPoolOptions;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  get(address: string, port: number): Pool {
    const key = endpointKey(address, port);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(`http://${key}`, {
        connections: null,
        pipelining: 1,
        connectTimeout: this.#options.connectTimeoutMs,
        // No route timeout by default (Istio); the stream idle timeout is Envoy's 5 minutes.
        headersTimeout: 300_000,
        bodyTimeout: 300_000,
        keepAliveTimeout: 60_000,
        strictContentLength: true,
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

/** `ip:port`, with IPv6 addresses in brackets: the pool key and Envoy's %UPSTREAM_HOST%. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
