/**
 * The contract every Tidings backend keeps. The shared conformance suite
 * (`src/conformance/`) is its executable form: a backend is correct when it
 * passes that suite unchanged.
 */

/**
 * What a subscription does when its buffer is full and another event arrives.
 *
 * - `drop-newest`: the subscriber stays, the arriving event is skipped.
 * - `drop-oldest`: the subscriber stays, the oldest buffered event is discarded
 *   to make room for the arriving one.
 * - `evict`: the subscription ends; its iterator yields what is buffered, then
 *   throws a {@link SlowConsumerError}.
 *
 * Every dropped event is counted in {@link Subscription.dropped} and reported
 * as a {@link Gap}.
 */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest' | 'evict';

/** Options of {@link EventService.subscribe}. */
export interface SubscribeOptions {
  /**
   * Maximum number of delivered-but-unread events held for this subscriber.
   * Memory stays bounded by it whatever the consumer does.
   * @default 256
   */
  bufferSize?: number;
  /**
   * What happens when the buffer is full.
   * @default "drop-newest"
   */
  overflow?: OverflowPolicy;
  /**
   * Aborting it closes the subscription, exactly like `close()`. If it is
   * already aborted, `subscribe()` rejects with its reason.
   */
  signal?: AbortSignal;
  /**
   * Resume right after this position: a {@link Subscription.position} read
   * earlier from a subscription on the same channel of the same backend, or
   * `"oldest"` for everything retained. The subscription first yields the
   * retained events after it (`replaying` is true meanwhile), then goes live,
   * with no duplicate and no hole at the seam. If the position is older than
   * what is retained, it starts at the oldest retained event after an
   * `expired` {@link Gap}.
   *
   * Only on backends that declare {@link EventService.replay}.
   * @throws {ReplayUnsupportedError} on a backend that cannot replay.
   * @throws {PositionError} for a position of another channel or backend, or garbage.
   */
  from?: Position | 'oldest';
}

/**
 * Where an event sits in its channel's history: an opaque string, ordered
 * within one channel of one backend. Never parse it; hand it back to
 * `subscribe({ from })` (or send it to a browser as an SSE `id:`).
 */
export type Position = string;

/**
 * How far back a backend can replay ({@link EventService.replay}). Events
 * older than either bound may be gone.
 */
export interface ReplayInfo {
  /** At most this many events are retained; `undefined` when not bounded by count. */
  readonly maxEvents: number | undefined;
  /** Events older than this many milliseconds may be dropped; `undefined` when not bounded by age. */
  readonly maxAgeMs: number | undefined;
  /**
   * True when the backend trims lazily or in blocks (Redis `MAXLEN ~`): it
   * then keeps at least the bounds and sometimes a little more.
   */
  readonly approximate: boolean;
}

/**
 * Why a subscriber may not have seen every event: some were dropped because
 * its buffer was full (`overflow`), the backend lost its broker connection
 * for a while and events published meanwhile never reached it (`reconnect`),
 * or a resume asked for events the backend no longer retains (`expired`).
 * A stream fed by `tidings bridge` reports a window in which no bridge was
 * copying as `reconnect`, where it happened in the stream.
 * A consumer that keeps derived state should re-fetch it.
 */
export interface Gap {
  /** What caused the loss. When several causes merged into one report, the first. */
  readonly reason: 'overflow' | 'reconnect' | 'expired';
  /**
   * Events known to be lost. Exact for overflow; for `expired` exact when
   * the backend can count them, else 0; for a reconnect unknowable, 0.
   */
  readonly dropped: number;
}

/**
 * A live stream of events for one subscriber. Iterate it with `for await`;
 * iteration ends when the subscription is closed by `close()`, `break`,
 * `await using`, its `AbortSignal`, or the service closing. It throws only
 * {@link SlowConsumerError}, after an `evict` overflow.
 *
 * @example
 * ```ts
 * await using sub = await service.subscribe({ bufferSize: 1024 });
 * for await (const event of sub) {
 *   const gap = sub.takeGap();
 *   if (gap) await refetchState();
 *   handle(event);
 * }
 * ```
 */
export interface Subscription<T> extends AsyncIterable<T>, AsyncDisposable {
  /** A random UUID identifying this subscription (for logs and metrics). */
  readonly id: string;
  /** Events buffered and not yet read. */
  readonly pending: number;
  /** Events handed to the consumer so far. */
  readonly delivered: number;
  /** Events this subscription dropped on overflow (exact, monotonic). */
  readonly dropped: number;
  /** True once the subscription no longer receives events. */
  readonly closed: boolean;
  /**
   * The position of the last event yielded, to resume after it later with
   * `subscribe({ from })`. Before the first event: the `from` it was opened
   * with, or (on a backend that can replay) the newest position when it
   * opened. `undefined` on a backend without positions (Redis pub/sub).
   */
  readonly position: Position | undefined;
  /**
   * True while the subscription is still yielding retained events (opened
   * with `from`); false once it has caught up and reads live events. A reader
   * that wants "everything up to now" stops when this is false and `pending`
   * is 0.
   */
  readonly replaying: boolean;
  /**
   * Reports, and clears, loss that happened at the point the consumer has
   * reached: call it after each event (or whenever convenient). A gap becomes
   * visible once every event delivered before the loss has been read, so state
   * re-fetched then is newer than anything still to come.
   * @returns the merged gap since the last call, or `undefined` if none.
   */
  takeGap(): Gap | undefined;
  /**
   * Waits for the next event.
   * @returns `{ done: true }` once the subscription is closed.
   * @throws {SlowConsumerError} after an `evict` overflow, once the buffer is drained.
   */
  next(): Promise<IteratorResult<T, undefined>>;
  /**
   * Ends the subscription: a pending `next()` resolves `done`, buffered events
   * are discarded, the backend forgets the subscriber. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Where a backend stands with its broker, as far as delivery is concerned.
 *
 * - `connecting`: not connected (or, while anyone subscribes or watches,
 *   not subscribed) yet.
 * - `ready`: connected and, while anyone subscribes or watches, subscribed:
 *   events published now reach live subscriptions.
 * - `down`: the connection was lost or cannot be made; the backend keeps
 *   retrying, and live subscriptions get a `reconnect` {@link Gap} once it is
 *   back. Events published meanwhile are lost.
 * - `closed`: `close()` was called; final.
 */
export type BackendState = 'connecting' | 'ready' | 'down' | 'closed';

/** A backend's {@link BackendState}, with why it is not ready. */
export interface BackendStatus {
  readonly state: BackendState;
  /**
   * Why the backend is `connecting` or `down`, for operators (e.g.
   * `"Redis subscriber connection lost (ECONNREFUSED)"`). Never carries an
   * address or a credential.
   */
  readonly reason?: string;
}

/**
 * A typed publish/subscribe service.
 *
 * `publish` may be called from anywhere (request handlers, workflows): it never
 * throws on transport failure and never waits for subscribers. Every
 * subscription that is live when an event is published receives it, in
 * publish order per publisher, unless its own buffer overflows (and then the
 * loss is counted and reported).
 */
export interface EventService<T> {
  /**
   * Publishes fire-and-forget. Transport failures are logged and counted,
   * never thrown; publishing after `close()` is a logged no-op.
   */
  publish(event: T): void;
  /**
   * Publishes and resolves once the backend accepted the event.
   * @returns the number of receivers the backend reported (in-memory: local
   * subscriptions; Redis: subscribed connections, as `PUBLISH` returns).
   * @throws {PublishError} when the event could not be handed over.
   * @throws {ServiceClosedError} after `close()`.
   */
  publishConfirmed(event: T): Promise<number>;
  /**
   * Opens a subscription. Resolves only once it is live: any event published
   * after the promise resolves is delivered to it.
   * @throws {ServiceClosedError} after `close()`.
   * @throws {TypeError} on invalid options.
   * @throws {ReplayUnsupportedError} / {PositionError} for a `from` it cannot honour.
   */
  subscribe(options?: SubscribeOptions): Promise<Subscription<T>>;
  /**
   * How far back this backend can replay for `subscribe({ from })`;
   * `undefined` when it cannot (then `from` is rejected).
   */
  readonly replay?: ReplayInfo | undefined;
  /** Subscriptions currently live on this service. */
  readonly liveSubscriptions: number;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /**
   * Where the backend stands now. Optional, so backends written before it
   * keep compiling; a consumer treats its absence as always `ready`. A
   * backend without a broker (in-memory) is `ready` until closed.
   */
  readonly status?: BackendStatus;
  /**
   * Calls `listener` with each later change of {@link status} (not with the
   * current one: read `status` for that), until the returned function is
   * called or the service closes (after a last `closed`). A listener that
   * throws is ignored; the others still hear.
   *
   * Watching counts as interest in the broker: a backend that connects or
   * subscribes on demand (Redis) does so while anyone watches, as for a
   * subscriber, so `ready` means a subscription opened now would be live at
   * once. That is how a gateway with no clients yet can tell it is ready.
   * Optional, like `status`.
   *
   * @example
   * ```ts
   * const stop = service.onStatus?.((status) => {
   *   if (status.state === 'down') log.warn({ reason: status.reason }, 'event bus lost');
   * });
   * // later
   * stop?.();
   * ```
   * @returns a function that stops the notifications (idempotent).
   */
  onStatus?(listener: (status: BackendStatus) => void): () => void;

  /** Ends every subscription and releases the backend's resources. Idempotent. */
  close(): Promise<void>;
}
