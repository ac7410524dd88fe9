import type { EventService, Subscription } from '../../core/contract.js';
import { NopSubscribeError } from '../../errors.js';

/**
 * An event service that discards everything: `publish` does nothing and
 * `subscribe` rejects with {@link NopSubscribeError}. For tests of code that
 * only publishes.
 */
export function createNopEventService<T>(): EventService<T> {
  let closed = false;
  return {
    publish(_event: T): void {},
    publishConfirmed(_event: T): Promise<number> {
      return Promise.resolve(0);
    },
    subscribe(): Promise<Subscription<T>> {
      return Promise.reject(new NopSubscribeError());
    },
    get liveSubscriptions(): number {
      return 0;
    },
    get closed(): boolean {
      return closed;
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
