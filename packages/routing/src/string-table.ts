/**
 * String keys → values, looked up by a hash computed here rather than by V8.
 *
 * Request paths and hosts are new strings on every request. A `Map.get` with a string V8 has not hashed
 * yet computes the hash in a runtime call, which costs about ten times a lookup with a cached hash; routing
 * would pay it for every path prefix and host suffix it tries. Hashing the characters here (FNV-1a over
 * UTF-16 code units) costs a few nanoseconds per character and, walked once over a path, yields the hash of
 * every prefix on the way, so no substring is ever made. Keys are verified in place, so collisions are
 * harmless.
 */
export const HASH_START = 0x811c9dc5 | 0;

export function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

/** `code` lower-cased when it is an ASCII capital. */
export function asciiLower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

export function hashString(s: string, start = 0, end = s.length): number {
  let h = HASH_START;
  for (let i = start; i < end; i++) h = hashStep(h, s.charCodeAt(i));
  return h;
}

/**
 * Open addressing over one flat array of cells, `stride` cells per slot: the key's hash (halved, so that
 * V8 stores it unboxed), the key, and `stride - 2` values. A lookup reads the slot's cells, which sit side
 * by side, and the key; a table of a few hundred thousand keys this way touches far less memory per lookup
 * than a Map of collision lists would. Empty slots have an undefined key. Keys are not removed.
 */
export class HashedCells {
  readonly #stride: number;
  protected cells: unknown[] = [];
  #mask = -1;
  #size = 0;

  constructor(stride: number) {
    this.#stride = stride;
    this.#grow(8);
  }

  /** The first cell of `key`'s slot, adding the key (its values undefined) when absent. */
  protected slotFor(key: string): number {
    const hash = hashString(key);
    const found = this.find(key, 0, key.length, hash);
    if (found >= 0) return found;
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow((this.#mask + 1) * 2);
    this.#size++;
    return this.#place(key, hash);
  }

  /**
   * The first cell of the slot whose key is `s[start, end)` (its hash computed by the caller), or -1. With
   * `fold`, the key was hashed with ASCII letters lower-cased and is compared the same way (stored keys are
   * lower case; hosts almost always are already, so the plain comparison runs first).
   */
  protected find(s: string, start: number, end: number, hash: number, fold = false): number {
    const cells = this.cells;
    const stride = this.#stride;
    const mask = this.#mask;
    const stored = hash >> 1;
    const length = end - start;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = slot * stride;
      const key = cells[at + 1] as string | undefined;
      if (key === undefined) return -1;
      if (cells[at] === stored && key.length === length && (sameRange(s, start, key) || (fold && equalsLower(key, s, start)))) return at;
    }
  }

  #place(key: string, hash: number): number {
    const stride = this.#stride;
    let slot = hash & this.#mask;
    while (this.cells[slot * stride + 1] !== undefined) slot = (slot + 1) & this.#mask;
    const at = slot * stride;
    this.cells[at] = hash >> 1;
    this.cells[at + 1] = key;
    return at;
  }

  #grow(slots: number): void {
    const old = this.cells;
    const stride = this.#stride;
    // Filled element by element, so that V8 keeps the array packed.
    this.cells = [];
    for (let i = 0; i < slots * stride; i++) this.cells.push(undefined);
    this.#mask = slots - 1;
    for (let at = 0; at < old.length; at += stride) {
      const key = old[at + 1] as string | undefined;
      if (key === undefined) continue;
      const to = this.#place(key, hashString(key));
      for (let k = 2; k < stride; k++) this.cells[to + k] = old[at + k];
    }
  }
}

/** String keys → values. */
export class StringTable<T> extends HashedCells {
  constructor() {
    super(3);
  }

  set(key: string, value: T): void {
    const at = this.slotFor(key); // first: it may grow the cells
    this.cells[at + 2] = value;
  }

  get(key: string): T | undefined {
    return this.getRange(key, 0, key.length, hashString(key));
  }

  /** The value of key `s[start, end)`, whose hash (hashString(s, start, end)) the caller computed. */
  getRange(s: string, start: number, end: number, hash: number): T | undefined {
    const at = this.find(s, start, end, hash);
    return at < 0 ? undefined : (this.cells[at + 2] as T);
  }

  /** As getRange, for a key hashed (and compared) with ASCII letters lower-cased; stored keys are lower case. */
  getRangeLower(s: string, start: number, end: number, hash: number): T | undefined {
    const at = this.find(s, start, end, hash, true);
    return at < 0 ? undefined : (this.cells[at + 2] as T);
  }
}

/**
 * Whether `s` holds `key` at `start` (the caller checked the lengths fit). A whole-string key, the usual
 * case for a Host or a full path, is compared with ===, several times faster than startsWith.
 */
function sameRange(s: string, start: number, key: string): boolean {
  return start === 0 && key.length === s.length ? s === key : s.startsWith(key, start);
}

function equalsLower(lower: string, s: string, start: number): boolean {
  for (let i = 0; i < lower.length; i++) if (lower.charCodeAt(i) !== asciiLower(s.charCodeAt(start + i))) return false;
  return true;
}
