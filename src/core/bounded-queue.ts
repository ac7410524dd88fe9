/**
 * A FIFO ring buffer that never holds more than `limit` items. Its storage
 * starts small and doubles up to the limit, so an idle subscriber with a large
 * `bufferSize` costs little until it actually falls behind.
 */
export class BoundedQueue<T> {
  readonly limit: number;
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.#items = new Array<T | undefined>(Math.min(limit, 16));
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size >= this.limit;
  }

  /** Appends; the caller checks `full` first (the overflow policy is theirs). */
  push(item: T): void {
    let items = this.#items;
    if (this.#size === items.length) items = this.#grow();
    let tail = this.#head + this.#size;
    if (tail >= items.length) tail -= items.length;
    items[tail] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined; // let the event be collected once read
    this.#head = this.#head + 1 === items.length ? 0 : this.#head + 1;
    this.#size--;
    return item;
  }

  clear(): void {
    this.#items = new Array<T | undefined>(Math.min(this.limit, 16));
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): (T | undefined)[] {
    const old = this.#items;
    const grown = new Array<T | undefined>(Math.min(this.limit, old.length * 2));
    for (let i = 0; i < this.#size; i++) grown[i] = old[(this.#head + i) % old.length];
    this.#items = grown;
    this.#head = 0;
    return grown;
  }
}
