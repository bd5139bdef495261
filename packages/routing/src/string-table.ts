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

interface Slot<T> {
  key: string;
  value: T;
}

export class StringTable<T> {
  readonly #slots = new Map<number, Slot<T>[]>();

  set(key: string, value: T): void {
    const h = hashString(key);
    const slots = this.#slots.get(h);
    if (!slots) {
      this.#slots.set(h, [{ key, value }]);
      return;
    }
    const slot = slots.find((s) => s.key === key);
    if (slot) slot.value = value;
    else slots.push({ key, value });
  }

  get(key: string): T | undefined {
    return this.getRange(key, 0, key.length, hashString(key));
  }

  /** The value of key `s[start, end)`, whose hash (hashString(s, start, end)) the caller computed. */
  getRange(s: string, start: number, end: number, hash: number): T | undefined {
    const slots = this.#slots.get(hash);
    if (!slots) return undefined;
    for (const slot of slots) if (slot.key.length === end - start && s.startsWith(slot.key, start)) return slot.value;
    return undefined;
  }

  /** As getRange, for a key hashed (and compared) with ASCII letters lower-cased; stored keys are lower case. */
  getRangeLower(s: string, start: number, end: number, hash: number): T | undefined {
    const slots = this.#slots.get(hash);
    if (!slots) return undefined;
    // Hosts are almost always lower case already: the native comparison first, the folding one if it fails.
    for (const slot of slots) if (slot.key.length === end - start && (s.startsWith(slot.key, start) || equalsLower(slot.key, s, start))) return slot.value;
    return undefined;
  }
}

function equalsLower(lower: string, s: string, start: number): boolean {
  for (let i = 0; i < lower.length; i++) if (lower.charCodeAt(i) !== asciiLower(s.charCodeAt(start + i))) return false;
  return true;
}
