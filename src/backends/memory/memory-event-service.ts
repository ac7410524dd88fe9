import { randomBytes } from 'node:crypto';
import type { BackendStatus, EventService, ReplayInfo, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../../core/logger.js';
import { PositionFormat } from '../../core/position.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { resolveSubscribeOptions } from '../../core/subscription.js';
import { ReplayUnsupportedError, ServiceClosedError } from '../../errors.js';
import { keepingTraceContexts, rememberTrace } from '../../observability/event-trace.js';
import { Instrumentation, type TelemetryOptions } from '../../observability/instrumentation.js';
import { History } from './history.js';
import { openWithHistory } from './history-replay.js';

/** How much an in-memory service retains for `subscribe({ from })`. */
export interface InMemoryHistoryOptions {
  /** Most events retained. @default 10000 */
  maxEvents?: number | undefined;
  /** Events older than this are forgotten. @default 3600000 (one hour) */
  maxAgeMs?: number | undefined;
}

/** Options of {@link createInMemoryEventService}. */
export interface InMemoryEventServiceOptions<T = unknown> extends TelemetryOptions {
  /** Where publish-after-close and similar misuse is reported. @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** A name for this service in logs, and its `messaging.destination.name`. @default "memory" */
  name?: string | undefined;
  /** Names an event's type, for span attributes. */
  eventType?: ((event: T) => string | undefined) | undefined;
  /**
   * The bounded history replay reads from, or `false` to keep none (then
   * `replay` is undefined and `from` is refused).
   * @default { maxEvents: 10000, maxAgeMs: 3600000 }
   */
  history?: InMemoryHistoryOptions | false | undefined;
}

const DEFAULT_HISTORY_EVENTS = 10_000;
const DEFAULT_HISTORY_AGE_MS = 3_600_000;

function createHistory<T>(options: InMemoryHistoryOptions | false | undefined): History<T> | undefined {
  if (options === false) return undefined;
  const maxEvents = options?.maxEvents ?? DEFAULT_HISTORY_EVENTS;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new TypeError(`options.history.maxEvents must be a positive integer, got ${String(maxEvents)}`);
  }
  const maxAgeMs = options?.maxAgeMs === undefined ? DEFAULT_HISTORY_AGE_MS : options.maxAgeMs;
  if (!(typeof maxAgeMs === 'number' && maxAgeMs > 0 && Number.isFinite(maxAgeMs))) {
    throw new TypeError(`options.history.maxAgeMs must be a positive number, got ${String(maxAgeMs)}`);
  }
  return new History<T>(maxEvents, maxAgeMs);
}

class InMemoryEventService<T> implements EventService<T> {
  #fanOut: FanOut<T>;
  #telemetry: Instrumentation;
  #eventType: ((event: T) => string | undefined) | undefined;
  #closed = false;
  #logger: Logger;
  #name: string;
  #statusListeners: StatusListeners;
  #history: History<T> | undefined;
  /** Positions name this instance: its history dies with it, so another instance's positions are foreign. */
  #positions = new PositionFormat(`mem.${randomBytes(6).toString('base64url')}`, /^(0|[1-9][0-9]{0,15})$/);
  readonly replay: ReplayInfo | undefined;

  constructor(options: InMemoryEventServiceOptions<T>) {
    this.#history = createHistory<T>(options.history);
    this.replay = this.#history && {
      maxEvents: this.#history.maxEvents,
      maxAgeMs: this.#history.maxAgeMs,
      approximate: false,
    };
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.#name = options.name ?? 'memory';
    this.#statusListeners = new StatusListeners('ready', (error) =>
      this.#logger.warn({ service: this.#name, err: error }, 'a status listener threw; ignored'),
    );
    this.#eventType = options.eventType;
    this.#telemetry = new Instrumentation('tidings.memory', this.#name, options);
    this.#fanOut = new FanOut<T>(this.#telemetry.fanOutObserver());
  }

  get liveSubscriptions(): number {
    return this.#fanOut.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** No broker to lose: ready until closed. */
  get status(): BackendStatus {
    return this.#closed ? CLOSED : READY;
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    return this.#statusListeners.add(listener);
  }

  publish(event: T): void {
    if (this.#closed) {
      this.#logger.warn({ service: this.#name }, 'publish after close ignored: the event was not delivered');
      return;
    }
    this.#deliver(event);
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    return Promise.resolve(this.#deliver(event));
  }

  #deliver(event: T): number {
    const trace = this.#telemetry.startPublish(this.#eventType?.(event));
    // What a message over Redis would carry.
    if (keepingTraceContexts()) rememberTrace(event, this.#telemetry.carrierOf(trace));
    const history = this.#history;
    const taken =
      history === undefined
        ? this.#fanOut.deliver(event)
        : this.#fanOut.deliver(event, this.#positions.format(history.append(event, Date.now())));
    this.#telemetry.delivered(taken);
    this.#telemetry.endPublish(trace);
    return taken;
  }

  subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    try {
      resolveSubscribeOptions(options);
      const history = this.#history;
      if (history === undefined) {
        if (options?.from !== undefined) throw new ReplayUnsupportedError('an in-memory service without history');
        return Promise.resolve(this.#fanOut.open(options));
      }
      const sub = openWithHistory({ history, positions: this.#positions, fanOut: this.#fanOut }, options);
      return Promise.resolve(sub);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    if (!this.#closed) this.#telemetry.close();
    this.#closed = true;
    this.#fanOut.endAll();
    this.#statusListeners.close();
    return Promise.resolve();
  }
}

/**
 * An event service within one process: no I/O, delivery is a loop over the
 * live subscriptions' bounded buffers.
 *
 * @example
 * ```ts
 * const events = createInMemoryEventService<{ n: number }>();
 * const sub = await events.subscribe();
 * events.publish({ n: 1 });
 * const { value } = await sub.next(); // { n: 1 }
 * ```
 */
export function createInMemoryEventService<T>(options: InMemoryEventServiceOptions<T> = {}): EventService<T> {
  return new InMemoryEventService<T>(options);
}
