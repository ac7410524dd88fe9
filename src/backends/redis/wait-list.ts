/** One parked caller: settle it to resume it (once; later calls do nothing). */
export type Settle = (error?: unknown) => void;

/**
 * Callers parked until something happens, each with its own deadline, all
 * releasable at once. No listener is added to a long-lived emitter or signal
 * per caller, so thousands can wait without warnings or leaks.
 */
export class WaitList {
  #waiting = new Set<Settle>();

  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Parks a caller until {@link settleAll}, its own `settle`, the deadline
   * (rejecting with `timeoutError()`; none when `timeoutMs` is infinite) or
   * `signal` (rejecting with its reason).
   */
  park(timeoutMs: number, timeoutError: () => Error, signal?: AbortSignal): { promise: Promise<void>; settle: Settle } {
    let settle: Settle = () => {};
    const promise = new Promise<void>((resolve, reject) => {
      const onAbort = (): void => settle(signal?.reason);
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => settle(timeoutError()), timeoutMs) : undefined;
      settle = (error?: unknown): void => {
        if (!this.#waiting.delete(settle)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#waiting.add(settle);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return { promise, settle };
  }

  /**
   * A caller parked until its answer: `start` is handed the callbacks that
   * settle it, and {@link settleAll} with an error (the service closing)
   * rejects it first if the answer has not come. No deadline of its own:
   * whatever produces the answer is bounded.
   */
  untilAnswered<R>(start: (answer: { resolve(value: R): void; reject(error: unknown): void }) => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { promise: released, settle } = this.park(Number.POSITIVE_INFINITY, () => new Error('unreachable'));
      released.catch(reject);
      start({
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
    });
  }

  /** Resumes every parked caller, in the order they parked; with `error`, they reject. */
  settleAll(error?: unknown): void {
    for (const settle of [...this.#waiting]) settle(error);
  }
}
