/**
 * The retained events of an in-memory service: a ring indexed by sequence
 * number, bounded by count and by age. Storage doubles up to the count bound,
 * so a service that publishes little costs little.
 */
export class History<T> {
  readonly maxEvents: number;
  readonly maxAgeMs: number | undefined;
  #events: (T | undefined)[] = new Array(16);
  #times: number[] = new Array(16);
  #mask = 15;
  /** Sequence number of the oldest retained event. */
  #first = 1;
  /** Sequence number the next event gets; positions start at 1, so 0 means "before everything". */
  #next = 1;

  constructor(maxEvents: number, maxAgeMs: number | undefined) {
    this.maxEvents = maxEvents;
    this.maxAgeMs = maxAgeMs;
  }

  /** Sequence number of the oldest retained event (== `next` when none is). */
  get first(): number {
    return this.#first;
  }

  /** Sequence number the next event will get; the newest is `next - 1`. */
  get next(): number {
    return this.#next;
  }

  /** Retains `event`, dropping the oldest beyond the bounds. @returns its sequence number. */
  append(event: T, now: number): number {
    if (this.#next - this.#first === this.maxEvents) {
      this.#events[this.#first & this.#mask] = undefined;
      this.#first++;
    } else if (this.#next - this.#first > this.#mask) this.#grow();
    const seq = this.#next++;
    this.#events[seq & this.#mask] = event;
    this.#times[seq & this.#mask] = now;
    this.trim(now);
    return seq;
  }

  /** The event with sequence number `seq`; the caller keeps `first <= seq < next`. */
  get(seq: number): T {
    return this.#events[seq & this.#mask] as T;
  }

  /** Forgets events older than the age bound. */
  trim(now: number): void {
    if (this.maxAgeMs === undefined) return;
    const oldest = now - this.maxAgeMs;
    while (this.#first < this.#next && (this.#times[this.#first & this.#mask] as number) < oldest) {
      this.#events[this.#first & this.#mask] = undefined;
      this.#first++;
    }
  }

  #grow(): void {
    const size = this.#mask + 1;
    const events: (T | undefined)[] = new Array(size * 2);
    const times: number[] = new Array(size * 2);
    const mask = size * 2 - 1;
    for (let seq = this.#first; seq < this.#next; seq++) {
      events[seq & mask] = this.#events[seq & this.#mask];
      times[seq & mask] = this.#times[seq & this.#mask] as number;
    }
    this.#events = events;
    this.#times = times;
    this.#mask = mask;
  }
}
