/**
 * Waits that resume when watched state changes, never on a timer: the owner
 * calls {@link ChangeWaits.changed} whenever its state moves (a chunk of output
 * arrived, a stream closed), and every pending condition is checked again. The
 * deadline only turns a hang into a failure with a useful message.
 */
export class ChangeWaits {
  #pending = new Set<() => void>();

  /** Re-checks every pending condition. */
  changed(): void {
    for (const check of [...this.#pending]) check();
  }

  /**
   * Resolves with `check()`'s value once it is not `undefined`; rejects if
   * `check` throws, or with `describe()` after `timeoutMs`.
   */
  until<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void): void => {
        clearTimeout(deadline);
        this.#pending.delete(attempt);
        outcome();
      };
      const attempt = (): void => {
        try {
          const value = check();
          if (value !== undefined) settle(() => resolve(value));
        } catch (error) {
          settle(() => reject(error));
        }
      };
      const deadline = setTimeout(() => settle(() => reject(new Error(describe()))), timeoutMs);
      this.#pending.add(attempt);
      attempt();
    });
  }
}
