import type { Logger } from './logger.js';

/** How {@link ThrottledWarnings} limits and summarises. */
export interface ThrottleOptions {
  /** Warnings logged in full per interval; the rest are counted. @default 5 */
  perInterval?: number;
  /** @default 1000 */
  intervalMs?: number;
  /** Fields every summary line carries (e.g. the channel). */
  fields: Record<string, unknown>;
  /** The summary line's message. */
  summary: string;
}

/**
 * Warnings that outside input can trigger at any rate (an invalid message on
 * a channel anyone may publish to): the first few of each interval are
 * logged in full, the rest are counted by key and logged as one summary line
 * at the end of the interval (`suppressed: { <key>: count }`). Every warning
 * is in the log, either as its own line or in a count.
 */
export class ThrottledWarnings {
  readonly #logger: Logger;
  readonly #perInterval: number;
  readonly #intervalMs: number;
  readonly #fields: Record<string, unknown>;
  readonly #summary: string;
  /** End of the current interval (`Date.now()` time), 0 when none is open. */
  #intervalEnd = 0;
  #logged = 0;
  #suppressed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, options: ThrottleOptions) {
    this.#logger = logger;
    this.#perInterval = options.perInterval ?? 5;
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#fields = options.fields;
    this.#summary = options.summary;
  }

  /** Logs this warning, or counts it under `key` when the interval's allowance is spent. */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now >= this.#intervalEnd) {
      this.flush(); // a late timer: the last interval's summary comes first
      this.#intervalEnd = now + this.#intervalMs;
    }
    if (this.#logged < this.#perInterval) {
      this.#logged++;
      this.#logger.warn(fields, message);
      return;
    }
    this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalEnd - now);
      this.#timer.unref(); // never what keeps a process alive
    }
  }

  /** Ends the interval: logs the summary of what was counted, if anything was (also on close). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#intervalEnd = 0;
    this.#logged = 0;
    if (this.#suppressed.size === 0) return;
    const suppressed = Object.fromEntries(this.#suppressed);
    this.#suppressed.clear();
    this.#logger.warn({ ...this.#fields, suppressed, intervalMs: this.#intervalMs }, this.#summary);
  }
}
