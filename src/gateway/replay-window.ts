import { randomBytes } from 'node:crypto';
import { History } from '../backends/memory/history.js';
import { GapMark, openWithHistory, type Retained } from '../backends/memory/history-replay.js';
import type { BackendStatus, EventService, Gap, ReplayInfo, SubscribeOptions, Subscription } from '../core/contract.js';
import { FanOut } from '../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../core/logger.js';
import { PositionFormat } from '../core/position.js';
import { CLOSED, READY } from '../core/status-listeners.js';
import { resolveSubscribeOptions } from '../core/subscription.js';
import { ServiceClosedError } from '../errors.js';

/** Options of {@link withReplayWindow}. */
export interface ReplayWindowOptions<T = unknown> {
  /** Most events retained. @default 10000 */
  readonly maxEvents?: number | undefined;
  /** Events older than this are forgotten. @default 3600000 (one hour) */
  readonly maxAgeMs?: number | undefined;
  /**
   * Most bytes retained, as `sizeOf` counts them; the oldest events go first.
   * Keeps a window of large events from holding `maxEvents` of them.
   * Unbounded when absent.
   */
  readonly maxBytes?: number | undefined;
  /** An event's size for `maxBytes` (e.g. its wire length). Required with `maxBytes`. */
  readonly sizeOf?: ((event: T) => number) | undefined;
  /**
   * Whether `close()` also closes the wrapped service. `false` when the
   * window only borrows it (the gateway's own windows do).
   * @default true
   */
  readonly closeService?: boolean | undefined;
  /** Where a failed upstream subscribe is reported. @default silent */
  readonly logger?: Logger | undefined;
}

const DEFAULT_MAX_EVENTS = 10_000;
const DEFAULT_MAX_AGE_MS = 3_600_000;
/**
 * The window's own subscription on the wrapped service. Its reader appends
 * synchronously, so it only falls behind while the event loop is blocked;
 * what overflows even so is kept as a gap at its place.
 */
const UPSTREAM_BUFFER = 16_384;

/**
 * Gives a service that keeps no history (Redis pub/sub, core NATS) a bounded
 * replay window of its own, so `subscribe({ from })` works over it: the
 * window subscribes once to the service, keeps the last events it saw with
 * positions of its own, and serves every subscription from them.
 *
 * What it guarantees: a subscription resumed from one of its positions gets
 * exactly what the window saw after it, then live, with no duplicate and no
 * hole at the seam; a loss the window itself suffered (a broker reconnect)
 * reaches a replaying subscription as a `reconnect` gap at the place it
 * happened, as it reached live ones.
 *
 * What it loses: its positions name this window only (`gw.<random>:<n>`),
 * so a position from another process, or from before a restart, is `foreign`
 * (a {@link PositionError}); events published before the window subscribed,
 * or older than its bounds, are not retained (`expired` gap). Retention costs
 * one reference per event up to `maxEvents`.
 *
 * A service that already declares {@link EventService.replay} is returned
 * unchanged.
 *
 * The window subscribes at the first `subscribe()` or `onStatus()` (the
 * gateway watches its services from `listen()`, so its window fills from
 * then on, with no client connected) and stays subscribed until `close()`.
 *
 * @example
 * ```ts
 * const events = withReplayWindow(createInMemoryEventService<number>({ history: false }), { maxEvents: 100 });
 * const first = await events.subscribe();
 * events.publish(1);
 * events.publish(2);
 * await first.next();
 * const resumed = await events.subscribe({ from: first.position });
 * // resumed yields 2 (and whatever follows), then live
 * ```
 * @throws {TypeError} on invalid bounds.
 */
export function withReplayWindow<T>(service: EventService<T>, options: ReplayWindowOptions<T> = {}): EventService<T> {
  if (service.replay !== undefined) return service;
  return new ReplayWindow(service, options);
}

/** A size that cannot be had (the function threw) counts as 0: the count and age bounds still hold. */
function sizeOfSafely<T>(sizeOf: (event: T) => number, event: T): number {
  try {
    const size = sizeOf(event);
    return Number.isFinite(size) && size > 0 ? size : 0;
  } catch {
    return 0;
  }
}

class ReplayWindow<T> implements EventService<T> {
  readonly replay: ReplayInfo;
  readonly #inner: EventService<T>;
  readonly #retained: Retained<T>;
  readonly #closeService: boolean;
  readonly #sizeOf: ((event: T) => number) | undefined;
  readonly #logger: Logger;
  #upstream: Promise<Subscription<T>> | undefined;
  /** The upstream subscription once open, while its reader runs. */
  #reading: Subscription<T> | undefined;
  #stopWatching: (() => void) | undefined;
  #closed = false;

  constructor(inner: EventService<T>, options: ReplayWindowOptions<T>) {
    const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new TypeError(`options.maxEvents must be a positive integer, got ${String(maxEvents)}`);
    }
    const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    if (!(typeof maxAgeMs === 'number' && maxAgeMs > 0 && Number.isFinite(maxAgeMs))) {
      throw new TypeError(`options.maxAgeMs must be a positive number, got ${String(maxAgeMs)}`);
    }
    const maxBytes = options.maxBytes;
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
      throw new TypeError(`options.maxBytes must be a positive integer, got ${String(maxBytes)}`);
    }
    if (maxBytes !== undefined && typeof options.sizeOf !== 'function') {
      throw new TypeError('options.sizeOf must be a function when options.maxBytes is given');
    }
    this.#sizeOf = maxBytes === undefined ? undefined : options.sizeOf;
    this.#inner = inner;
    this.#closeService = options.closeService ?? true;
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.replay = Object.freeze({ maxEvents, maxAgeMs, approximate: false });
    this.#retained = {
      history: new History<T | GapMark>(maxEvents, maxAgeMs, maxBytes),
      // Random per window: its history dies with it, so no other window's positions may resolve here.
      positions: new PositionFormat(`gw.${randomBytes(6).toString('base64url')}`, /^(0|[1-9][0-9]{0,15})$/),
      fanOut: new FanOut<T>(),
    };
  }

  get liveSubscriptions(): number {
    return this.#retained.fanOut.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get status(): BackendStatus {
    return this.#closed ? CLOSED : (this.#inner.status ?? READY);
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    void this.#start().catch(() => {});
    return this.#inner.onStatus?.(listener) ?? (() => {});
  }

  publish(event: T): void {
    this.#inner.publish(event);
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    return this.#inner.publishConfirmed(event);
  }

  async subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) throw new ServiceClosedError();
    resolveSubscribeOptions(options);
    options?.signal?.throwIfAborted();
    await this.#start();
    if (this.#closed) throw new ServiceClosedError();
    return openWithHistory(this.#retained, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching?.();
    this.#retained.fanOut.endAll();
    const upstream = this.#upstream;
    this.#upstream = undefined;
    await upstream?.then((sub) => sub.close()).catch(() => {});
    if (this.#closeService) await this.#inner.close();
  }

  /** Subscribes upstream once; a failed attempt is forgotten, so the next subscriber (or `ready`) tries again. */
  #start(): Promise<Subscription<T>> {
    if (this.#upstream !== undefined) return this.#upstream;
    this.#stopWatching ??= this.#inner.onStatus?.((status) => {
      if (status.state !== 'ready' || this.#closed) return;
      // The backend reports a reconnect's gap as it comes back: pass it on now, not with the next event,
      // so the gateway's `restored` news finds it (this listener was registered before any watcher's).
      const gap = this.#reading?.takeGap();
      if (gap !== undefined) this.#lost(gap);
      // Retry when the backend comes back, rather than only when a client next asks.
      if (this.#upstream === undefined) void this.#start().catch(() => {});
    });
    const upstream = this.#inner.subscribe({ bufferSize: UPSTREAM_BUFFER, overflow: 'drop-newest' }).then(
      (sub) => {
        if (this.#closed) {
          void sub.close();
          throw new ServiceClosedError();
        }
        this.#reading = sub;
        void this.#pump(sub);
        return sub;
      },
      (error: unknown) => {
        if (this.#upstream === upstream) this.#upstream = undefined;
        this.#logger.warn({ err: error }, 'replay window: subscribing to the event service failed; will retry');
        throw error;
      },
    );
    this.#upstream = upstream;
    return upstream;
  }

  /** Copies every upstream event into the history and out to the live subscriptions, in one synchronous step. */
  async #pump(sub: Subscription<T>): Promise<void> {
    const { history, positions, fanOut } = this.#retained;
    const sizeOf = this.#sizeOf;
    try {
      for (;;) {
        const gap = sub.takeGap();
        if (gap !== undefined) this.#lost(gap);
        const result = await sub.next();
        if (result.done) break;
        const seq = history.append(
          result.value,
          Date.now(),
          sizeOf === undefined ? 0 : sizeOfSafely(sizeOf, result.value),
        );
        fanOut.deliver(result.value, positions.format(seq));
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'replay window: its upstream subscription failed');
    }
    this.#reading = undefined;
    // The wrapped service closed (or the window did): nothing more will come.
    if (!this.#closed) {
      this.#upstream = undefined;
      fanOut.endAll();
    }
  }

  /** Keeps the loss at its place in the history, and tells live subscriptions now. */
  #lost(gap: Gap): void {
    const { history, fanOut } = this.#retained;
    history.append(new GapMark(gap.reason, gap.dropped), Date.now());
    // A replaying subscription meets the mark in the history instead, at its place.
    for (const sub of fanOut.subscriptions) if (!sub.replaying) sub.reportGap(gap.reason, gap.dropped);
  }
}
