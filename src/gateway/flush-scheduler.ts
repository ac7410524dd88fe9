/** Something with buffered output to write. */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes across all SSE clients. A client with new frames marks
 * itself dirty; one shared timer later flushes every dirty client, so a
 * client gets one socket write per interval however many events arrived in
 * it, instead of one write (and syscall) per event. The interval bounds the
 * latency this adds.
 */
export class FlushScheduler {
  #dirty = new Set<Flushable>();
  #armed = false;
  readonly #intervalMs: number;

  /** @param intervalMs longest wait before a frame is written; 0 flushes on the next turn of the event loop. */
  constructor(intervalMs: number) {
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new TypeError(`flush interval must be a non-negative number, got ${String(intervalMs)}`);
    }
    this.#intervalMs = intervalMs;
  }

  /** Schedules `target.flush()` for the next flush round. */
  mark(target: Flushable): void {
    this.#dirty.add(target);
    if (this.#armed) return;
    this.#armed = true;
    if (this.#intervalMs === 0) setImmediate(this.#run);
    else setTimeout(this.#run, this.#intervalMs);
  }

  /** Forgets a target that is going away. */
  forget(target: Flushable): void {
    this.#dirty.delete(target);
  }

  #run = (): void => {
    this.#armed = false;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const target of dirty) target.flush();
  };
}
