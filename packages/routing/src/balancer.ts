import type { EndpointIR } from '@waypoint/config';
import { hashString } from './string-table.ts';

/** Picks an endpoint for each request. State lives as long as the config. */
export interface EndpointPicker {
  readonly size: number;
  /** The policy, for explain and /config_dump: `round robin`, `least request`, `random`, `ring hash`, `maglev`. */
  readonly policy: string;
  /**
   * An endpoint; `hash` is the request's consistent-hash key, when the policy hashes. `avoid` lists
   * endpoints a retry already tried: another is picked when one is ready (Envoy's previous_hosts
   * predicate), except by consistent hashing, which Istio retries without that predicate.
   */
  pick(hash?: number, avoid?: readonly EndpointIR[]): EndpointIR | undefined;
  /** A request picked with this policy finished (least request counts what is in flight). */
  release?(endpoint: EndpointIR): void;
}

/** The items not in `avoid`, or all of them when every one is. */
function untried<T>(items: readonly T[], avoid: readonly T[] | undefined): readonly T[] {
  if (!avoid?.length) return items;
  const rest = items.filter((e) => !avoid.includes(e));
  return rest.length ? rest : items;
}

/** Round robin over the items that pass `usable`, skipping the rest. */
export class RoundRobin<T> {
  readonly #items: readonly T[];
  #next = 0;
  readonly policy = 'round robin';
  constructor(items: readonly T[], usable: (item: T) => boolean) {
    this.#items = items.filter(usable);
  }
  get size(): number {
    return this.#items.length;
  }
  pick(_hash?: number, avoid?: readonly T[]): T | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    let item = this.#items[this.#next % n]!;
    this.#next = (this.#next + 1) % n;
    // Past the avoided ones, at most once round.
    for (let i = 1; avoid && i < n && avoid.includes(item); i++) {
      item = this.#items[this.#next % n]!;
      this.#next = (this.#next + 1) % n;
    }
    return item;
  }
}

export class RandomPicker implements EndpointPicker {
  readonly policy = 'random';
  readonly #items: readonly EndpointIR[];
  constructor(items: readonly EndpointIR[]) {
    this.#items = items;
  }
  get size(): number {
    return this.#items.length;
  }
  pick(_hash?: number, avoid?: readonly EndpointIR[]): EndpointIR | undefined {
    const items = untried(this.#items, avoid);
    return items[Math.floor(Math.random() * items.length)];
  }
}

/**
 * Envoy's LEAST_REQUEST with equal weights: two endpoints chosen at random, the one with fewer requests in
 * flight wins (power of two choices).
 */
export class LeastRequest implements EndpointPicker {
  readonly policy = 'least request';
  readonly #items: readonly EndpointIR[];
  readonly #active = new Map<EndpointIR, number>();
  constructor(items: readonly EndpointIR[]) {
    this.#items = items;
  }
  get size(): number {
    return this.#items.length;
  }
  pick(_hash?: number, avoid?: readonly EndpointIR[]): EndpointIR | undefined {
    const items = untried(this.#items, avoid);
    const n = items.length;
    if (n === 0) return undefined;
    let e = items[Math.floor(Math.random() * n)]!;
    if (n > 1) {
      const other = items[Math.floor(Math.random() * n)]!;
      if ((this.#active.get(other) ?? 0) < (this.#active.get(e) ?? 0)) e = other;
    }
    this.#active.set(e, (this.#active.get(e) ?? 0) + 1);
    return e;
  }
  release(e: EndpointIR): void {
    const n = this.#active.get(e);
    if (n !== undefined) this.#active.set(e, Math.max(0, n - 1));
  }
  /** Requests in flight to `e` (for tests and explain). */
  active(e: EndpointIR): number {
    return this.#active.get(e) ?? 0;
  }
}

/** A 32-bit mix of a hash (murmur3's finaliser), so that near keys land far apart. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const hashKey = (key: string): number => mix32(hashString(key));

const endpointName = (e: EndpointIR) => `${e.address}:${e.port}`;

/**
 * Consistent hashing on a ring (Envoy's RING_HASH): each endpoint takes an equal share of at least
 * `minimumRingSize` points; a key goes to the first point at or after its hash. Adding or removing an
 * endpoint moves only the keys next to its points.
 */
export class RingHash implements EndpointPicker {
  readonly policy: string;
  readonly #hashes: Uint32Array;
  readonly #owners: EndpointIR[];
  readonly size: number;
  constructor(items: readonly EndpointIR[], minimumRingSize: number) {
    this.size = items.length;
    this.policy = `ring hash (${Math.max(minimumRingSize, items.length)} points)`;
    const perEndpoint = items.length ? Math.ceil(Math.min(minimumRingSize, 8_388_608) / items.length) : 0;
    const points: { h: number; e: EndpointIR }[] = [];
    for (const e of items) for (let i = 0; i < perEndpoint; i++) points.push({ h: hashKey(`${endpointName(e)}_${i}`), e });
    points.sort((a, b) => a.h - b.h);
    this.#hashes = Uint32Array.from(points, (p) => p.h);
    this.#owners = points.map((p) => p.e);
  }
  pick(hash?: number): EndpointIR | undefined {
    const n = this.#hashes.length;
    if (n === 0) return undefined;
    const h = (hash ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === n ? 0 : lo];
  }
}

/**
 * Maglev consistent hashing (Envoy's MAGLEV): a lookup table of `tableSize` (prime) entries filled from
 * each endpoint's permutation in turn; a key goes to table[hash mod size].
 */
export class Maglev implements EndpointPicker {
  readonly policy: string;
  readonly #table: EndpointIR[];
  readonly size: number;
  constructor(items: readonly EndpointIR[], tableSize: number) {
    this.size = items.length;
    const m = nextPrime(Math.max(tableSize, items.length));
    this.policy = `maglev (${m} entries)`;
    this.#table = new Array<EndpointIR>(items.length ? m : 0);
    if (!items.length) return;
    const offset = items.map((e) => hashKey(`${endpointName(e)}#offset`) % m);
    const skip = items.map((e) => (hashKey(`${endpointName(e)}#skip`) % (m - 1)) + 1);
    const next = items.map(() => 0);
    const filled = new Uint8Array(m);
    let count = 0;
    while (count < m) {
      for (let i = 0; i < items.length && count < m; i++) {
        let c = (offset[i]! + next[i]! * skip[i]!) % m;
        while (filled[c]) {
          next[i]!++;
          c = (offset[i]! + next[i]! * skip[i]!) % m;
        }
        filled[c] = 1;
        this.#table[c] = items[i]!;
        next[i]!++;
        count++;
      }
    }
  }
  pick(hash?: number): EndpointIR | undefined {
    const m = this.#table.length;
    if (m === 0) return undefined;
    return this.#table[((hash ?? Math.floor(Math.random() * 2 ** 32)) >>> 0) % m];
  }
}

function nextPrime(n: number): number {
  for (let p = Math.max(2, n); ; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return p;
  }
}
