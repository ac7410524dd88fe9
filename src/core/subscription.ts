import { randomUUID } from 'node:crypto';
import { SlowConsumerError } from '../errors.js';
import { BoundedQueue } from './bounded-queue.js';
import type { Gap, OverflowPolicy, SubscribeOptions, Subscription } from './contract.js';

/** Default {@link SubscribeOptions.bufferSize}. */
export const DEFAULT_BUFFER_SIZE = 256;

const OVERFLOW_POLICIES: ReadonlySet<string> = new Set<OverflowPolicy>(['drop-newest', 'drop-oldest', 'evict']);

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const DONE_PROMISE = Promise.resolve(DONE);

/** What the backend learns about a subscription's life, for accounting. */
export interface SubscriptionHooks<T> {
  /** Called once when the subscription stops receiving (close, abort, eviction, service close). */
  released(sub: LocalSubscription<T>): void;
  /** Called for every event dropped on overflow. */
  dropped?(reason: 'overflow' | 'eviction'): void;
}

/**
 * A pending `next()`. Only ever resolved: an error (eviction) can only arise
 * while the buffer is full, which means nobody is waiting.
 */
type Waiter<T> = (result: IteratorResult<T, undefined>) => void;

/** Checks subscribe options, throwing a `TypeError` that names the bad one. */
export function resolveSubscribeOptions(options: SubscribeOptions | undefined): {
  bufferSize: number;
  overflow: OverflowPolicy;
  signal: AbortSignal | undefined;
} {
  const bufferSize = options?.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw new TypeError(`options.bufferSize must be a positive integer, got ${String(bufferSize)}`);
  }
  const overflow = options?.overflow ?? 'drop-newest';
  if (!OVERFLOW_POLICIES.has(overflow)) {
    throw new TypeError(
      `options.overflow must be one of ${[...OVERFLOW_POLICIES].join(', ')}, got ${String(overflow)}`,
    );
  }
  const from: unknown = options?.from;
  if (from !== undefined && typeof from !== 'string') {
    throw new TypeError(`options.from must be a position string or "oldest", got ${typeof from}`);
  }
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  return { bufferSize, overflow, signal };
}

/**
 * The subscription every backend hands out: a bounded buffer in front of an
 * async iterator. Backends push with {@link deliver}; they never block on it.
 */
export class LocalSubscription<T> implements Subscription<T> {
  readonly id: string = randomUUID();
  #queue: BoundedQueue<T>;
  #overflow: OverflowPolicy;
  #hooks: SubscriptionHooks<T>;
  #signal: AbortSignal | undefined;
  #waiter: Waiter<T> | undefined;
  /** Further concurrent `next()` callers; rare, so kept off the hot path. */
  #moreWaiters: Waiter<T>[] | undefined;
  #closed = false;
  #released = false;
  #error: SlowConsumerError | undefined;
  #delivered = 0;
  #dropped = 0;
  /** Events still to be read before the pending gap becomes visible; -1 when none. */
  #gapAt = -1;
  #gapReason: Gap['reason'] = 'overflow';
  #gapDropped = 0;
  /** Positions of the buffered events, in step with `#queue`; only on backends with positions. */
  #positions: BoundedQueue<string> | undefined;
  #position: string | undefined;
  /** While replaying: asks the backend for more retained events (see {@link beginReplay}). */
  #refill: (() => void) | undefined;

  constructor(options: SubscribeOptions | undefined, hooks: SubscriptionHooks<T>) {
    const { bufferSize, overflow, signal } = resolveSubscribeOptions(options);
    signal?.throwIfAborted();
    this.#queue = new BoundedQueue<T>(bufferSize);
    this.#overflow = overflow;
    this.#hooks = hooks;
    if (signal) {
      this.#signal = signal;
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get pending(): number {
    return this.#queue.size;
  }

  get delivered(): number {
    return this.#delivered;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get position(): string | undefined {
    return this.#position;
  }

  get replaying(): boolean {
    return this.#refill !== undefined;
  }

  /** Room left in the buffer: how many retained events a refill may deliver. */
  get free(): number {
    return this.#queue.limit - this.#queue.size;
  }

  /**
   * Makes this a subscription with positions, starting at `position` (what
   * {@link position} reads before the first event). Call before any delivery.
   */
  startAt(position: string | undefined): void {
    this.#position = position;
    this.#positions ??= new BoundedQueue<string>(this.#queue.limit);
  }

  /**
   * Puts the subscription in replay mode: live deliveries are refused (the
   * backend's history has them), and `refill` is called whenever the buffer
   * runs low, to {@link deliverRetained} up to {@link free} more events. It
   * may do so at once or later (an async read); it must be idempotent while a
   * read is in flight. The backend ends the mode with {@link endReplay} once
   * the subscription has caught up with live delivery.
   */
  beginReplay(refill: () => void): void {
    if (!this.#closed) this.#refill = refill;
  }

  /** Caught up: from now on live deliveries are taken. */
  endReplay(): void {
    this.#refill = undefined;
  }

  /** The buffer limit this subscription was opened with. */
  get bufferSize(): number {
    return this.#queue.limit;
  }

  /**
   * Hands one live event to this subscriber without ever blocking.
   * @param position the event's position, on backends with positions.
   * @returns whether the event was taken (false: closed, replaying, or dropped on overflow).
   */
  deliver(event: T, position?: string): boolean {
    if (this.#refill !== undefined) return false;
    return this.#take(event, position);
  }

  /** Hands one retained event to a replaying subscriber; the backend keeps to {@link free}. */
  deliverRetained(event: T, position: string): boolean {
    return this.#take(event, position);
  }

  #take(event: T, position: string | undefined): boolean {
    // A waiter implies the subscription is open (closing resolves them all).
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = this.#moreWaiters === undefined ? undefined : this.#moreWaiters.shift();
      this.#delivered++;
      if (position !== undefined) this.#position = position;
      waiter({ done: false, value: event });
      return true;
    }
    if (this.#closed) return false;
    const queue = this.#queue;
    if (!queue.full) {
      queue.push(event);
      if (position !== undefined) this.#positions?.push(position);
      return true;
    }
    return this.#overflowWith(event, position);
  }

  /**
   * Records that events may have been lost upstream (a broker reconnect), or
   * are no longer retained (`expired`, with how many when known), at the
   * point the consumer will reach after what is buffered now.
   */
  reportGap(reason: Gap['reason'], dropped = 0): void {
    if (!this.#closed) this.#noteGap(reason, dropped, this.#queue.size);
  }

  takeGap(): Gap | undefined {
    if (this.#gapAt !== 0) return undefined;
    const gap: Gap = { reason: this.#gapReason, dropped: this.#gapDropped };
    this.#gapAt = -1;
    this.#gapDropped = 0;
    return gap;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const queue = this.#queue;
    if (queue.size === 0 && this.#refill !== undefined) this.#refill();
    if (queue.size > 0) {
      const value = queue.shift() as T;
      if (this.#positions !== undefined) this.#position = this.#positions.shift();
      if (this.#gapAt > 0) this.#gapAt--;
      this.#delivered++;
      // Ask for more before the buffer runs dry, so an async read overlaps consumption.
      if (this.#refill !== undefined && queue.size <= queue.limit >>> 1) this.#refill();
      return Promise.resolve({ done: false, value });
    }
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#closed) return DONE_PROMISE;
    return new Promise((waiter) => {
      if (this.#waiter === undefined) this.#waiter = waiter;
      else if (this.#moreWaiters === undefined) this.#moreWaiters = [waiter];
      else this.#moreWaiters.push(waiter);
    });
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.#end();
    return DONE;
  }

  close(): Promise<void> {
    this.#end();
    return Promise.resolve();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Ends the subscription on behalf of the service (service close). */
  end(): void {
    this.#end();
  }

  #overflowWith(event: T, position: string | undefined): boolean {
    const queue = this.#queue;
    switch (this.#overflow) {
      case 'drop-newest':
        this.#dropped++;
        this.#hooks.dropped?.('overflow');
        this.#noteGap('overflow', 1, queue.size);
        return false;
      case 'drop-oldest':
        queue.shift();
        queue.push(event);
        if (position !== undefined && this.#positions !== undefined) {
          this.#positions.shift();
          this.#positions.push(position);
        }
        this.#dropped++;
        this.#hooks.dropped?.('overflow');
        // The loss is at the head of what remains: visible before the next read.
        this.#noteGap('overflow', 1, 0);
        return true;
      case 'evict':
        this.#dropped++;
        this.#hooks.dropped?.('eviction');
        this.#noteGap('overflow', 1, queue.size);
        // Stop receiving now; the consumer still drains what it was given, then sees the error.
        this.#error = new SlowConsumerError(queue.limit);
        this.#closed = true;
        this.#refill = undefined;
        this.#release();
        return false;
    }
  }

  #noteGap(reason: Gap['reason'], dropped: number, at: number): void {
    if (this.#gapAt < 0) {
      this.#gapReason = reason;
      this.#gapAt = at;
    } else if (at < this.#gapAt) {
      this.#gapAt = at;
    }
    this.#gapDropped += dropped;
  }

  #onAbort = (): void => {
    this.#end();
  };

  #end(): void {
    if (this.#closed && this.#queue.size === 0 && this.#error === undefined) {
      this.#release();
      return;
    }
    this.#closed = true;
    this.#refill = undefined;
    this.#error = undefined;
    this.#queue.clear();
    this.#positions?.clear();
    this.#gapAt = -1;
    const waiters = this.#waiter ? [this.#waiter, ...(this.#moreWaiters ?? [])] : [];
    this.#waiter = undefined;
    this.#moreWaiters = undefined;
    for (const waiter of waiters) waiter(DONE);
    this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    this.#hooks.released(this);
  }
}
