import type { EndpointIR } from '@waypoint/config';
import { Http1Pool } from './upstream-h1.ts';
import { endpointKey, upstreamEndpoint, type UpstreamEndpoint, type UpstreamTransport } from './upstream.ts';

export interface UpstreamPoolOptions {
  transport: UpstreamTransport;
  /** The trust domain of upstream identities (HBONE). */
  trustDomain?: string | undefined;
  /** Idle upstream connections close after this long. */
  keepAliveMs?: number;
}

/** How often idle connections are looked for. */
const SWEEP_INTERVAL_MS = 1000;

/** Keep-alive HTTP/1.1 connection pools, one per upstream endpoint; over HBONE each connection is a tunnel. */
export class UpstreamPools {
  readonly #pools = new Map<string, Http1Pool>();
  /** Each endpoint of a config's pool and `ip:port`, so that a request builds neither key nor string. */
  readonly #byEndpoint = new WeakMap<EndpointIR, { pool: Http1Pool; host: string }>();
  readonly #options: UpstreamPoolOptions;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const pool of this.#pools.values()) pool.sweep(now);
    }, SWEEP_INTERVAL_MS).unref();
  }

  /** The pool of a config's endpoint and its `ip:port` (Envoy's %UPSTREAM_HOST%). */
  forEndpoint(e: EndpointIR): { pool: Http1Pool; host: string } {
    let entry = this.#byEndpoint.get(e);
    if (!entry || entry.pool.closed) {
      entry = { pool: this.#get(upstreamEndpoint(e, this.#options.trustDomain)), host: endpointKey(e.address, e.port) };
      this.#byEndpoint.set(e, entry);
    }
    return entry;
  }

  #get(endpoint: UpstreamEndpoint): Http1Pool {
    const key = poolKey(endpoint);
    let pool = this.#pools.get(key);
    if (!pool) {
      const transport = this.#options.transport;
      pool = new Http1Pool({
        authority: endpointKey(endpoint.address, endpoint.port),
        open: () => transport.open(endpoint),
        keepAliveMs: this.#options.keepAliveMs ?? 60_000,
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
      pool.close();
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const pool of this.#pools.values()) pool.destroy();
    this.#pools.clear();
  }
}

export function poolKey(e: UpstreamEndpoint): string {
  return e.identity ? `${endpointKey(e.address, e.port)}|${e.identity}` : endpointKey(e.address, e.port);
}
