import type { BackendState, BackendStatus } from './contract.js';

/** The status of a backend that is working. */
export const READY: BackendStatus = Object.freeze({ state: 'ready' });
/** The status of a backend after `close()`. */
export const CLOSED: BackendStatus = Object.freeze({ state: 'closed' });

/**
 * The listeners of one service's {@link EventService.onStatus}, and the last
 * state they heard, so that each hears a change once and never a repeat.
 */
export class StatusListeners {
  #listeners = new Set<(status: BackendStatus) => void>();
  #last: BackendState;
  #onError: (error: unknown) => void;

  /**
   * @param initial the state listeners are taken to know at first.
   * @param onError told when a listener throws (the others still hear).
   */
  constructor(initial: BackendState, onError: (error: unknown) => void = () => {}) {
    this.#last = initial;
    this.#onError = onError;
  }

  /** Listeners registered now. */
  get size(): number {
    return this.#listeners.size;
  }

  /**
   * Registers `listener`; it hears changes from now on. A fresh function per
   * registration, so registering one listener twice gives two.
   * @returns the idempotent function that unregisters it.
   */
  add(listener: (status: BackendStatus) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const own = (status: BackendStatus): void => listener(status);
    this.#listeners.add(own);
    return () => {
      this.#listeners.delete(own);
    };
  }

  /** Tells every listener about `status` if its state differs from the last one told. */
  update(status: BackendStatus): void {
    if (status.state === this.#last) return;
    this.#last = status.state;
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** Tells every listener the service closed, then forgets them. */
  close(): void {
    this.update(CLOSED);
    this.#listeners.clear();
  }
}
