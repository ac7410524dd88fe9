import type { BackendStatus, EventService, Subscription } from '../../core/contract.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { NopSubscribeError } from '../../errors.js';

/**
 * An event service that discards everything: `publish` does nothing and
 * `subscribe` rejects with {@link NopSubscribeError}. For tests of code that
 * only publishes.
 */
export function createNopEventService<T>(): EventService<T> {
  let closed = false;
  const statusListeners = new StatusListeners('ready');
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
    // Nothing to connect to: publishing works (it discards) until closed.
    get status(): BackendStatus {
      return closed ? CLOSED : READY;
    },
    onStatus(listener: (status: BackendStatus) => void): () => void {
      return statusListeners.add(listener);
    },
    close(): Promise<void> {
      closed = true;
      statusListeners.close();
      return Promise.resolve();
    },
  };
}
