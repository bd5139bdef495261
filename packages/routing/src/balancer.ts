/** Round robin over the items that pass `usable`, skipping the rest; state lives as long as the config. */
export class RoundRobin<T> {
  readonly #items: readonly T[];
  #next = 0;
  constructor(items: readonly T[], usable: (item: T) => boolean) {
    this.#items = items.filter(usable);
  }
  get size(): number {
    return this.#items.length;
  }
  pick(): T | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    const item = this.#items[this.#next % n];
    this.#next = (this.#next + 1) % n;
    return item;
  }
}
