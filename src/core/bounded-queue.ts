/**
 * A FIFO ring buffer that never holds more than `limit` items. Its storage
 * starts small and doubles up to the limit, so an idle subscriber with a large
 * `bufferSize` costs little until it actually falls behind.
 *
 * Storage lengths are powers of two so that wrapping is a mask, not a branch
 * or a division: `push` and `shift` run once per event per subscriber, the
 * hottest code in a fan-out. The last doubling may overshoot `limit` (by less
 * than 2x, in empty slots only); `limit` itself is enforced on the count.
 */
export class BoundedQueue<T> {
  readonly limit: number;
  #items: (T | undefined)[];
  /** `#items.length - 1`; the length is a power of two. */
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.#items = storage<T>(Math.min(limit, 16));
    this.#mask = this.#items.length - 1;
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size >= this.limit;
  }

  /** Appends; the caller checks `full` first (the overflow policy is theirs). */
  push(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const head = this.#head;
    const item = items[head];
    items[head] = undefined; // let the event be collected once read
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  clear(): void {
    this.#items = storage<T>(Math.min(this.limit, 16));
    this.#mask = this.#items.length - 1;
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#items;
    const grown = storage<T>(Math.min(this.limit, old.length * 2));
    for (let i = 0; i < this.#size; i++) grown[i] = old[(this.#head + i) & this.#mask];
    this.#items = grown;
    this.#mask = grown.length - 1;
    this.#head = 0;
  }
}

/** Storage for at least `capacity` items, its length rounded up to a power of two. */
function storage<T>(capacity: number): (T | undefined)[] {
  let length = 1;
  while (length < capacity) length *= 2;
  return new Array<T | undefined>(length);
}
