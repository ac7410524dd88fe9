/**
 * The retained events of an in-memory service: a ring indexed by sequence
 * number, bounded by count, by age and optionally by size (bytes the caller
 * counts per event). Storage doubles up to the count bound, so a service that
 * publishes little costs little.
 */
export class History<T> {
  readonly maxEvents: number;
  readonly maxAgeMs: number | undefined;
  readonly maxBytes: number | undefined;
  #events: (T | undefined)[] = new Array(16);
  #times: number[] = new Array(16);
  /** Each event's counted size, only with a size bound. */
  #sizes: number[] | undefined;
  #bytes = 0;
  #mask = 15;
  /** Sequence number of the oldest retained event. */
  #first = 1;
  /** Sequence number the next event gets; positions start at 1, so 0 means "before everything". */
  #next = 1;

  constructor(maxEvents: number, maxAgeMs: number | undefined, maxBytes?: number) {
    this.maxEvents = maxEvents;
    this.maxAgeMs = maxAgeMs;
    this.maxBytes = maxBytes;
    if (maxBytes !== undefined) this.#sizes = new Array(16);
  }

  /** Sequence number of the oldest retained event (== `next` when none is). */
  get first(): number {
    return this.#first;
  }

  /** Sequence number the next event will get; the newest is `next - 1`. */
  get next(): number {
    return this.#next;
  }

  /**
   * Retains `event`, dropping the oldest beyond the bounds.
   * @param bytes its size, counted against `maxBytes` (an event larger than it is still kept, alone).
   * @returns its sequence number.
   */
  append(event: T, now: number, bytes = 0): number {
    if (this.#next - this.#first === this.maxEvents) this.#dropOldest();
    else if (this.#next - this.#first > this.#mask) this.#grow();
    const seq = this.#next++;
    this.#events[seq & this.#mask] = event;
    this.#times[seq & this.#mask] = now;
    const sizes = this.#sizes;
    if (sizes !== undefined) {
      sizes[seq & this.#mask] = bytes;
      this.#bytes += bytes;
      while (this.#bytes > (this.maxBytes as number) && this.#first < seq) this.#dropOldest();
    }
    this.trim(now);
    return seq;
  }

  #dropOldest(): void {
    this.#events[this.#first & this.#mask] = undefined;
    if (this.#sizes !== undefined) this.#bytes -= this.#sizes[this.#first & this.#mask] as number;
    this.#first++;
  }

  /** The event with sequence number `seq`; the caller keeps `first <= seq < next`. */
  get(seq: number): T {
    return this.#events[seq & this.#mask] as T;
  }

  /** Forgets events older than the age bound. */
  trim(now: number): void {
    if (this.maxAgeMs === undefined) return;
    const oldest = now - this.maxAgeMs;
    while (this.#first < this.#next && (this.#times[this.#first & this.#mask] as number) < oldest) this.#dropOldest();
  }

  #grow(): void {
    const size = this.#mask + 1;
    const events: (T | undefined)[] = new Array(size * 2);
    const times: number[] = new Array(size * 2);
    const sizes: number[] | undefined = this.#sizes && new Array(size * 2);
    const mask = size * 2 - 1;
    for (let seq = this.#first; seq < this.#next; seq++) {
      events[seq & mask] = this.#events[seq & this.#mask];
      times[seq & mask] = this.#times[seq & this.#mask] as number;
      if (sizes !== undefined) sizes[seq & mask] = (this.#sizes as number[])[seq & this.#mask] as number;
    }
    this.#events = events;
    this.#times = times;
    this.#sizes = sizes;
    this.#mask = mask;
  }
}
