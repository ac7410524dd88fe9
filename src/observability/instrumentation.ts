import {
  type Attributes,
  type BatchObservableCallback,
  type Context,
  context,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { TraceCarrier, TraceContextDrop } from '../core/codec.js';
import type { FanOutObserver } from '../core/fan-out.js';
import type { DecodeFailure } from '../errors.js';
import { fromCarrier, toCarrier, withRemoteParent } from './trace-context.js';

/** Where a service sends its traces and metrics (both default to the global providers), and how it traces publishes. */
export interface TelemetryOptions {
  /** @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider | undefined;
  /** @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider | undefined;
  /**
   * Gives every publish a PRODUCER span of its own, also one made outside any
   * trace. By default only a publish made inside an active span (which takes
   * a registered context manager, as the Node SDK registers) gets its own
   * span, a child of that span; the publishes made outside any trace in one
   * turn of the event loop share one `publish` span, whose context each of
   * their messages carries (the messaging conventions' batch "send" span,
   * without per-message "create" spans). On, it costs an SDK span per event,
   * more than all the rest of the instrumentation (`npm run bench:telemetry`).
   * @default false
   */
  spanPerPublish?: boolean | undefined;
}

const SCOPE = 'tidings';
/** Messages one receive span covers at most: within the SDK's default limit of 128 links per span. */
const MAX_LINKS_PER_RECEIVE = 100;
/** Tells apart the metric series of services on one channel in one process (e.g. a publisher and a subscriber). */
let instances = 0;
const SCOPE_VERSION = '0.1.0';

/** What a service counted since it was created. Plain numbers: reading them costs nothing. */
export interface TelemetryCounts {
  /** Publishes the backend accepted. */
  published: number;
  /** Publishes that failed (broker unreachable, timeout, error) and were dropped. */
  publishFailed: number;
  /** Valid messages received from a broker (not counted for in-process delivery). */
  received: number;
  /** Events handed to subscriptions: one per event per subscriber that took it. */
  delivered: number;
  /** Events subscriptions lost: `overflow` (drop-newest/drop-oldest) or `eviction`. */
  dropped: { overflow: number; eviction: number };
  /** Messages skipped because they did not decode, by reason. */
  invalid: Record<DecodeFailure, number>;
  /** Times the subscriber connection came back after a loss. */
  reconnects: number;
  /**
   * Valid messages whose trace context was malformed and dropped (the event
   * was delivered without it), by the field at fault.
   */
  traceContextDropped: Record<TraceContextDrop, number>;
}

/**
 * The trace of one publish, from {@link Instrumentation.startPublish} to
 * {@link Instrumentation.endPublish}: a span of its own, or the span the
 * untraced publishes of one turn share.
 */
export type PublishTrace = Span | TurnPublish;

/**
 * The PRODUCER span the publishes made outside any trace in one turn of the
 * event loop share, and what it needs to end: it ends once the turn is over
 * and the last of them was answered.
 */
class TurnPublish {
  /** Publishes that joined and are not answered yet. */
  pending = 0;
  messages = 0;
  /** The first message's text: its body size is recorded if it stays the only one. */
  firstText: string | undefined;
  /** The event type all its messages share; `null` once they differ. */
  eventType: string | undefined | null;
  /** A failure is recorded on the span already. */
  failed = false;

  constructor(
    readonly span: Span,
    readonly carrier: TraceCarrier | undefined,
    eventType: string | undefined,
  ) {
    this.eventType = eventType;
  }
}

/**
 * A service's telemetry: publish spans (see {@link TelemetryOptions.spanPerPublish}),
 * receive spans per read of the broker connection, and counts that
 * OpenTelemetry reads when it collects.
 *
 * Counters are observable instruments over plain numbers rather than
 * `Counter.add` per event: an SDK's `add` hashes its attributes every call,
 * which on a 100k events/s path would cost more than the delivery. Metric
 * names follow the messaging semantic conventions where one fits
 * (`messaging.client.sent.messages`, `messaging.client.consumed.messages`,
 * `messaging.client.operation.duration`) and `tidings.*` for what only
 * Tidings has (deliveries, drops, invalid messages, reconnects, live
 * subscriptions). With no SDK registered every call lands on the API's no-op
 * implementations.
 */
export class Instrumentation {
  readonly counts: TelemetryCounts = {
    published: 0,
    publishFailed: 0,
    received: 0,
    delivered: 0,
    dropped: { overflow: 0, eviction: 0 },
    invalid: { 'not-json': 0, 'no-envelope': 0, 'unknown-type': 0, 'invalid-payload': 0 },
    reconnects: 0,
    traceContextDropped: { traceparent: 0, tracestate: 0 },
  };
  readonly #tracer: Tracer;
  readonly #meter: Meter;
  readonly #publishName: string;
  readonly #receiveName: string;
  readonly #publishAttributes: Attributes;
  readonly #receiveAttributes: Attributes;
  /** The receive span of the read being handled, and what it carried so far. */
  #receiving: Span | undefined;
  #burst = { messages: 0, bytes: 0, delivered: 0, eventType: undefined as string | undefined };
  readonly #duration: Histogram;
  readonly #observables: Observable[];
  readonly #observe: BatchObservableCallback;
  /** Span attributes per event type: a handful of types, so built once each rather than per span. */
  readonly #publishAttributesByType = new Map<string, Attributes>();
  /** Publish failures by `error.type`, for the sent-messages metric. */
  readonly #failuresByType = new Map<string, number>();
  #live = 0;
  readonly #spanPerPublish: boolean;
  /** The span this turn's untraced publishes share, while the turn lasts. */
  #turn: TurnPublish | undefined;
  /** The traceparent the open receive span linked last: a turn's messages share one, linked once. */
  #lastLinked: string | undefined;

  /**
   * @param system `messaging.system`: `redis`, or `tidings.memory` in process.
   * @param destination `messaging.destination.name`: the channel.
   */
  constructor(system: string, destination: string, options: TelemetryOptions = {}) {
    this.#tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, SCOPE_VERSION);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, SCOPE_VERSION);
    this.#meter = meter;
    this.#spanPerPublish = options.spanPerPublish ?? false;
    const base: Attributes = { 'messaging.system': system, 'messaging.destination.name': destination };
    this.#publishName = `publish ${destination}`;
    this.#receiveName = `receive ${destination}`;
    this.#publishAttributes = { ...base, 'messaging.operation.type': 'send', 'messaging.operation.name': 'publish' };
    this.#receiveAttributes = { ...base, 'messaging.operation.type': 'receive', 'messaging.operation.name': 'receive' };
    this.#duration = meter.createHistogram('messaging.client.operation.duration', {
      description: 'Time from a publish operation (one event or a batch) being queued until the broker answered it',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5] },
    });
    const sent = meter.createObservableCounter('messaging.client.sent.messages', {
      description: 'Events published (with error.type when the backend did not take them)',
      unit: '{message}',
    });
    const consumed = meter.createObservableCounter('messaging.client.consumed.messages', {
      description: 'Valid messages received from the broker',
      unit: '{message}',
    });
    const deliveries = meter.createObservableCounter('tidings.deliveries', {
      description: 'Events handed to subscriptions (one per event per subscriber that took it)',
      unit: '{event}',
    });
    const dropped = meter.createObservableCounter('tidings.dropped', {
      description: 'Events subscriptions lost, by tidings.drop.reason (overflow or eviction)',
      unit: '{event}',
    });
    const invalid = meter.createObservableCounter('tidings.invalid_messages', {
      description: 'Messages on the channel that did not decode and were skipped, by tidings.invalid.reason',
      unit: '{message}',
    });
    const traceDropped = meter.createObservableCounter('tidings.trace_context.dropped', {
      description:
        'Messages delivered without the trace context they carried, which was malformed, by tidings.trace_context.field',
      unit: '{message}',
    });
    const reconnects = meter.createObservableCounter('tidings.reconnects', {
      description: 'Times the subscriber connection came back after a loss',
      unit: '{reconnect}',
    });
    const live = meter.createObservableUpDownCounter('tidings.subscriptions.live', {
      description: 'Subscriptions currently live',
      unit: '{subscription}',
    });
    const counts = this.counts;
    const instance = { 'tidings.service.instance': ++instances };
    const publishAttributes = { ...this.#publishAttributes, ...instance };
    const metricBase = { ...base, ...instance };
    this.#observables = [sent, consumed, deliveries, dropped, invalid, traceDropped, reconnects, live];
    this.#observe = (result) => {
      result.observe(sent, counts.published, publishAttributes);
      for (const [errorType, n] of this.#failuresByType) {
        result.observe(sent, n, { ...publishAttributes, 'error.type': errorType });
      }
      result.observe(consumed, counts.received, metricBase);
      result.observe(deliveries, counts.delivered, metricBase);
      for (const reason of ['overflow', 'eviction'] as const) {
        result.observe(dropped, counts.dropped[reason], { ...metricBase, 'tidings.drop.reason': reason });
      }
      for (const [reason, n] of Object.entries(counts.invalid)) {
        result.observe(invalid, n, { ...metricBase, 'tidings.invalid.reason': reason });
      }
      for (const [field, n] of Object.entries(counts.traceContextDropped)) {
        result.observe(traceDropped, n, { ...metricBase, 'tidings.trace_context.field': field });
      }
      result.observe(reconnects, counts.reconnects, metricBase);
      result.observe(live, this.#live, metricBase);
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables);
  }

  /** Stops reporting this service's metrics (call when the service closes, so nothing leaks). */
  close(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
  }

  /**
   * Starts tracing one publish: a PRODUCER span of its own inside an active
   * span (or with `spanPerPublish`), else the span this turn's untraced
   * publishes share. Hand the result to {@link endPublish} exactly once.
   */
  startPublish(eventType: string | undefined): PublishTrace {
    if (this.#spanPerPublish || trace.getSpan(context.active()) !== undefined) {
      return this.#tracer.startSpan(this.#publishName, {
        kind: SpanKind.PRODUCER,
        attributes: withEventType(this.#publishAttributes, this.#publishAttributesByType, eventType),
      });
    }
    let turn = this.#turn;
    if (turn === undefined) {
      const span = this.#tracer.startSpan(this.#publishName, {
        kind: SpanKind.PRODUCER,
        attributes: this.#publishAttributes,
      });
      turn = new TurnPublish(span, toCarrier(span.spanContext()), eventType);
      this.#turn = turn;
      queueMicrotask(this.#closeTurn);
    } else if (turn.eventType !== eventType) {
      turn.eventType = null;
    }
    turn.pending++;
    turn.messages++;
    return turn;
  }

  /** The trace context to send along with a publish, if there is a trace. */
  carrierOf(publish: PublishTrace): TraceCarrier | undefined {
    return publish instanceof TurnPublish ? publish.carrier : toCarrier(publish.spanContext());
  }

  /** Records the body size of a published message (computed only for a span that records it: it costs). */
  setBodySize(publish: PublishTrace, text: string): void {
    if (publish instanceof TurnPublish) publish.firstText ??= text;
    else if (publish.isRecording()) publish.setAttribute('messaging.message.body.size', Buffer.byteLength(text));
  }

  /**
   * Records how long the broker took to answer one publish operation, from
   * `startedAt` (`performance.now()`) when its first event was queued. One
   * operation may carry a batch of events: recording per operation rather
   * than per event keeps the histogram's cost off the per-event path.
   */
  publishAnswered(startedAt: number): void {
    this.#duration.record((performance.now() - startedAt) / 1000, this.#publishAttributes);
  }

  /** Ends a publish: counts it, and records `error` on its span. */
  endPublish(publish: PublishTrace, error?: unknown): void {
    const shared = publish instanceof TurnPublish;
    if (error === undefined) {
      this.counts.published++;
    } else {
      this.counts.publishFailed++;
      const errorType = error instanceof Error ? error.name : 'unknown';
      this.#failuresByType.set(errorType, (this.#failuresByType.get(errorType) ?? 0) + 1);
      const span = shared ? publish.span : publish;
      // A shared span records the first failure only: in an outage a turn's publishes all fail alike.
      if (span.isRecording() && !(shared && publish.failed)) {
        if (shared) publish.failed = true;
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        span.setAttribute('error.type', errorType);
      }
    }
    if (!shared) publish.end();
    else if (--publish.pending === 0 && publish !== this.#turn) this.#endTurn(publish); // its turn is over
  }

  /** The turn is over: no more publishes join its span, which ends once they are all answered. */
  #closeTurn = (): void => {
    const turn = this.#turn;
    if (turn === undefined) return;
    this.#turn = undefined;
    if (turn.pending === 0) this.#endTurn(turn);
  };

  #endTurn(turn: TurnPublish): void {
    const { span } = turn;
    if (span.isRecording()) {
      // Per-message attributes only when the span stands for one message, as the conventions ask.
      if (turn.messages > 1) span.setAttribute('messaging.batch.message_count', turn.messages);
      else if (turn.firstText !== undefined) {
        span.setAttribute('messaging.message.body.size', Buffer.byteLength(turn.firstText));
      }
      if (typeof turn.eventType === 'string') span.setAttribute('tidings.event.type', turn.eventType);
    }
    span.end();
  }

  /**
   * Accounts one message received from the broker and hands it on with
   * `deliver`, inside the CONSUMER `receive` span of the read it arrived in.
   *
   * One span per read of the connection, not per message nor per subscriber:
   * the messages one socket read yields are handled in one synchronous burst,
   * and a span each would cost more than the delivery at tens of thousands of
   * events per second. The span links the producer span of every message in
   * it, each once (messages published in one turn share one), starting a new
   * span every 100 messages to stay within the SDK's link limit; it takes the
   * first one's as parent, so at ordinary rates (one message per read) publish
   * and delivery are parent and child in one trace.
   */
  received(carrier: TraceCarrier | undefined, eventType: string | undefined, bodySize: number, deliver: () => number) {
    let span = this.#receiving;
    if (span !== undefined && this.#burst.messages === MAX_LINKS_PER_RECEIVE) {
      this.#endReceive();
      span = undefined;
    }
    if (span === undefined) {
      const remote = fromCarrier(carrier);
      const parent: Context = remote ? withRemoteParent(context.active(), remote) : context.active();
      span = this.#tracer.startSpan(
        this.#receiveName,
        {
          kind: SpanKind.CONSUMER,
          attributes: this.#receiveAttributes,
          links: remote ? [{ context: remote }] : undefined,
        },
        parent,
      );
      this.#receiving = span;
      this.#lastLinked = remote ? carrier?.traceparent : undefined;
      this.#burst = { messages: 0, bytes: 0, delivered: 0, eventType };
      queueMicrotask(() => {
        if (this.#receiving === span) this.#endReceive();
      });
    } else if (carrier?.traceparent !== undefined && carrier.traceparent !== this.#lastLinked && span.isRecording()) {
      // Parsed only for a span that records: unsampled traces pay nothing per message.
      const remote = fromCarrier(carrier);
      if (remote !== undefined) {
        span.addLink({ context: remote });
        this.#lastLinked = carrier.traceparent;
      }
    }
    const delivered = deliver();
    this.counts.received++;
    this.counts.delivered += delivered;
    const burst = this.#burst;
    burst.messages++;
    burst.bytes += bodySize;
    burst.delivered += delivered;
  }

  /** Ends the receive span once the read that opened it has been handled. */
  #endReceive = (): void => {
    const span = this.#receiving;
    if (span === undefined) return;
    this.#receiving = undefined;
    if (span.isRecording()) {
      const { messages, bytes, delivered, eventType } = this.#burst;
      if (messages === 1) {
        span.setAttribute('messaging.message.body.size', bytes);
        if (eventType !== undefined) span.setAttribute('tidings.event.type', eventType);
      } else {
        span.setAttribute('messaging.batch.message_count', messages);
      }
      span.setAttribute('tidings.subscribers', delivered);
    }
    span.end();
  };

  /** Counts events handed to subscriptions in process. */
  delivered(count: number): void {
    this.counts.delivered += count;
  }

  invalid(reason: DecodeFailure): void {
    this.counts.invalid[reason]++;
  }

  traceContextDropped(field: TraceContextDrop): void {
    this.counts.traceContextDropped[field]++;
  }

  reconnected(): void {
    this.counts.reconnects++;
  }

  /** The fan-out hooks that keep the live-subscription and drop counts. */
  fanOutObserver(onLiveChanged?: (live: number) => void): FanOutObserver {
    return {
      liveChanged: (live) => {
        this.#live = live;
        onLiveChanged?.(live);
      },
      dropped: (reason) => {
        this.counts.dropped[reason]++;
      },
    };
  }
}

/** `base` plus `tidings.event.type`, memoised per type in `cache`. */
function withEventType(base: Attributes, cache: Map<string, Attributes>, eventType: string | undefined): Attributes {
  if (eventType === undefined) return base;
  let attributes = cache.get(eventType);
  if (attributes === undefined) {
    attributes = { ...base, 'tidings.event.type': eventType };
    if (cache.size < 256) cache.set(eventType, attributes); // event types are few; never let a producer grow this
  }
  return attributes;
}
