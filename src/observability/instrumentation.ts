import {
  type Attributes,
  type Context,
  type Counter,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
  type UpDownCounter,
} from '@opentelemetry/api';
import type { TraceCarrier } from '../core/codec.js';
import type { FanOutObserver } from '../core/fan-out.js';
import type { DecodeFailure } from '../errors.js';
import { fromCarrier, toCarrier, withRemoteParent } from './trace-context.js';

/** Where a service sends its traces and metrics. Both default to the global providers. */
export interface TelemetryOptions {
  /** @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider | undefined;
  /** @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider | undefined;
}

const SCOPE = 'tidings';
const SCOPE_VERSION = '0.1.0';

/**
 * A service's OpenTelemetry instruments, named after the messaging semantic
 * conventions where one fits (`messaging.client.sent.messages`,
 * `messaging.client.consumed.messages`, `messaging.client.operation.duration`)
 * and `tidings.*` for what only Tidings has (per-subscriber deliveries, drops,
 * invalid messages, reconnects, live subscriptions).
 *
 * With no SDK registered every call lands on the API's no-op implementations;
 * attribute objects are built once per service so that path allocates little.
 */
export class Instrumentation {
  readonly #tracer: Tracer;
  readonly #base: Attributes;
  readonly #publishName: string;
  readonly #processName: string;
  readonly #publishAttributes: Attributes;
  readonly #processAttributes: Attributes;
  readonly #sent: Counter;
  readonly #consumed: Counter;
  readonly #duration: Histogram;
  readonly #deliveries: Counter;
  readonly #dropped: Counter;
  readonly #invalid: Counter;
  readonly #reconnects: Counter;
  readonly #live: UpDownCounter;
  readonly #droppedAttributes: Record<'overflow' | 'eviction', Attributes>;
  #lastLive = 0;

  /**
   * @param system `messaging.system`: `redis`, or `tidings.memory` in process.
   * @param destination `messaging.destination.name`: the channel.
   */
  constructor(system: string, destination: string, options: TelemetryOptions = {}) {
    this.#tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, SCOPE_VERSION);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, SCOPE_VERSION);
    this.#base = { 'messaging.system': system, 'messaging.destination.name': destination };
    this.#publishName = `publish ${destination}`;
    this.#processName = `process ${destination}`;
    this.#publishAttributes = {
      ...this.#base,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
    };
    this.#processAttributes = {
      ...this.#base,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'deliver',
    };
    this.#droppedAttributes = {
      overflow: { ...this.#base, 'tidings.drop.reason': 'overflow' },
      eviction: { ...this.#base, 'tidings.drop.reason': 'eviction' },
    };
    this.#sent = meter.createCounter('messaging.client.sent.messages', {
      description: 'Events published (with error.type when the broker did not take them)',
      unit: '{message}',
    });
    this.#consumed = meter.createCounter('messaging.client.consumed.messages', {
      description: 'Valid messages received from the broker',
      unit: '{message}',
    });
    this.#duration = meter.createHistogram('messaging.client.operation.duration', {
      description: 'Time from publish until the broker acknowledged it',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5] },
    });
    this.#deliveries = meter.createCounter('tidings.deliveries', {
      description: 'Events handed to subscriptions (one per event per subscriber)',
      unit: '{event}',
    });
    this.#dropped = meter.createCounter('tidings.dropped', {
      description: 'Events a subscription lost, by tidings.drop.reason (overflow or eviction)',
      unit: '{event}',
    });
    this.#invalid = meter.createCounter('tidings.invalid_messages', {
      description: 'Messages on the channel that did not decode, skipped, by tidings.invalid.reason',
      unit: '{message}',
    });
    this.#reconnects = meter.createCounter('tidings.reconnects', {
      description: 'Times the subscriber connection came back after a loss',
      unit: '{reconnect}',
    });
    this.#live = meter.createUpDownCounter('tidings.subscriptions.live', {
      description: 'Subscriptions currently live',
      unit: '{subscription}',
    });
  }

  /** Starts the PRODUCER span of one publish. */
  startPublish(eventType: string | undefined): Span {
    const span = this.#tracer.startSpan(this.#publishName, {
      kind: SpanKind.PRODUCER,
      attributes: this.#publishAttributes,
    });
    if (eventType !== undefined && span.isRecording()) span.setAttribute('tidings.event.type', eventType);
    return span;
  }

  /** The trace context to send along with a publish, if there is a trace. */
  carrierOf(span: Span): TraceCarrier | undefined {
    return toCarrier(span.spanContext());
  }

  /**
   * Ends a publish: counts it, records its latency when it had to wait for a
   * broker (`startedAt` from `performance.now()`), and marks the span failed on `error`.
   */
  endPublish(span: Span, startedAt?: number, error?: unknown): void {
    if (error === undefined) {
      this.#sent.add(1, this.#publishAttributes);
      if (startedAt !== undefined) {
        this.#duration.record((performance.now() - startedAt) / 1000, this.#publishAttributes);
      }
    } else {
      const errorType = error instanceof Error ? error.name : 'unknown';
      const attributes = { ...this.#publishAttributes, 'error.type': errorType };
      this.#sent.add(1, attributes);
      if (startedAt !== undefined) this.#duration.record((performance.now() - startedAt) / 1000, attributes);
      if (span.isRecording()) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        span.setAttribute('error.type', errorType);
      }
    }
    span.end();
  }

  /** Records a body size on a recording span (computed only then: it costs). */
  setBodySize(span: Span, text: string): void {
    if (span.isRecording()) span.setAttribute('messaging.message.body.size', Buffer.byteLength(text));
  }

  /**
   * Runs `deliver` inside the CONSUMER span of one received message: child of
   * the publisher's span when the message carried a trace context, and linked
   * to it as the conventions ask. One span per message, not per subscriber:
   * fan-out to a thousand local subscribers is one hand-off, and a span each
   * would cost more than the delivery.
   */
  process(
    carrier: TraceCarrier | undefined,
    eventType: string | undefined,
    bodySize: number,
    deliver: () => number,
  ): void {
    const remote = fromCarrier(carrier);
    const parent: Context = remote ? withRemoteParent(context.active(), remote) : context.active();
    const span = this.#tracer.startSpan(
      this.#processName,
      {
        kind: SpanKind.CONSUMER,
        attributes: this.#processAttributes,
        links: remote ? [{ context: remote }] : undefined,
      },
      parent,
    );
    this.#consumed.add(1, this.#base);
    const delivered = deliver();
    if (span.isRecording()) {
      span.setAttribute('messaging.message.body.size', bodySize);
      span.setAttribute('tidings.subscribers', delivered);
      if (eventType !== undefined) span.setAttribute('tidings.event.type', eventType);
    }
    span.end();
    this.delivered(delivered);
  }

  /** Counts events handed to subscriptions. */
  delivered(count: number): void {
    if (count > 0) this.#deliveries.add(count, this.#base);
  }

  invalid(reason: DecodeFailure): void {
    this.#invalid.add(1, { ...this.#base, 'tidings.invalid.reason': reason });
  }

  reconnected(): void {
    this.#reconnects.add(1, this.#base);
  }

  /** The fan-out hooks that keep the live-subscription and drop counts. */
  fanOutObserver(onLiveChanged?: (live: number) => void): FanOutObserver {
    return {
      liveChanged: (live) => {
        this.#live.add(live - this.#lastLive, this.#base);
        this.#lastLive = live;
        onLiveChanged?.(live);
      },
      dropped: (reason) => this.#dropped.add(1, this.#droppedAttributes[reason]),
    };
  }
}
