import type { BackendStatus, EventService, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../../core/logger.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { ServiceClosedError } from '../../errors.js';
import { keepingTraceContexts, rememberTrace } from '../../observability/event-trace.js';
import { Instrumentation, type TelemetryOptions } from '../../observability/instrumentation.js';

/** Options of {@link createInMemoryEventService}. */
export interface InMemoryEventServiceOptions<T = unknown> extends TelemetryOptions {
  /** Where publish-after-close and similar misuse is reported. @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** A name for this service in logs, and its `messaging.destination.name`. @default "memory" */
  name?: string | undefined;
  /** Names an event's type, for span attributes. */
  eventType?: ((event: T) => string | undefined) | undefined;
}

class InMemoryEventService<T> implements EventService<T> {
  #fanOut: FanOut<T>;
  #telemetry: Instrumentation;
  #eventType: ((event: T) => string | undefined) | undefined;
  #closed = false;
  #logger: Logger;
  #name: string;
  #statusListeners: StatusListeners;

  constructor(options: InMemoryEventServiceOptions<T>) {
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
    const taken = this.#fanOut.deliver(event);
    this.#telemetry.delivered(taken);
    this.#telemetry.endPublish(trace);
    return taken;
  }

  subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    try {
      return Promise.resolve(this.#fanOut.open(options));
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
