import type { Gap, SubscribeOptions } from './contract.js';
import { LocalSubscription, type SubscriptionHooks } from './subscription.js';

/** Accounting callbacks a backend may attach to its fan-out. */
export interface FanOutObserver {
  /** The live subscription count changed. */
  liveChanged?(live: number): void;
  /** An event was dropped for one subscriber. */
  dropped?(reason: 'overflow' | 'eviction'): void;
}

/**
 * The local side of every backend: the set of live subscriptions of one
 * service and the loop that hands each event to all of them.
 *
 * The set is copy-on-write, so a subscriber closing or being evicted in the
 * middle of a delivery never disturbs the loop, and delivery itself allocates
 * nothing.
 */
export class FanOut<T> {
  #subs: readonly LocalSubscription<T>[] = [];
  #observer: FanOutObserver;
  #hooks: SubscriptionHooks<T>;

  constructor(observer: FanOutObserver = {}) {
    this.#observer = observer;
    this.#hooks = {
      released: (sub) => this.#remove(sub),
      dropped: observer.dropped,
    };
  }

  get size(): number {
    return this.#subs.length;
  }

  /**
   * Creates a subscription and makes it live at once.
   * @throws {TypeError} on invalid options; the signal's reason if already aborted.
   */
  open(options: SubscribeOptions | undefined): LocalSubscription<T> {
    const sub = new LocalSubscription<T>(options, this.#hooks);
    this.#subs = [...this.#subs, sub];
    this.#observer.liveChanged?.(this.#subs.length);
    return sub;
  }

  /**
   * Delivers to every live subscriber (a replaying one refuses: it reads the
   * event from history). @returns how many took the event (not dropping it).
   */
  deliver(event: T, position?: string): number {
    const subs = this.#subs;
    let taken = 0;
    for (let i = 0; i < subs.length; i++) if ((subs[i] as LocalSubscription<T>).deliver(event, position)) taken++;
    return taken;
  }

  /** Every subscription, live or replaying, for a backend's own bookkeeping. */
  get subscriptions(): readonly LocalSubscription<T>[] {
    return this.#subs;
  }

  /** Tells every live subscriber it may have missed events. */
  reportGap(reason: Gap['reason']): void {
    for (const sub of this.#subs) sub.reportGap(reason);
  }

  /** Ends every subscription (service close). */
  endAll(): void {
    for (const sub of this.#subs) sub.end();
  }

  #remove(sub: LocalSubscription<T>): void {
    const index = this.#subs.indexOf(sub);
    if (index < 0) return;
    const next = this.#subs.slice();
    next.splice(index, 1);
    this.#subs = next;
    this.#observer.liveChanged?.(next.length);
  }
}
