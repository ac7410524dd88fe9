import type { TraceCarrier } from '../core/codec.js';

/**
 * The trace context each event arrived with, keyed by the event object so it
 * goes away with the event. A side table rather than a field on the event:
 * subscribers get the event exactly as its type says.
 */
const carriers = new WeakMap<object, TraceCarrier>();

/**
 * Off until something in the process asks: a WeakMap entry per traced
 * message cost a consumer 1-2 µs of its 13-15 µs per message, which a
 * process that never reads them should not pay.
 */
let keeping = false;

/** Starts keeping the trace context of every event from now on (the gateway calls it when it forwards them). */
export function keepTraceContexts(): void {
  keeping = true;
}

/** Whether trace contexts are being kept: lets a publisher skip building one nobody will read. */
export function keepingTraceContexts(): boolean {
  return keeping;
}

/** Notes the trace context `event` travels with (objects only: a primitive cannot be told apart from its copies). */
export function rememberTrace(event: unknown, carrier: TraceCarrier | undefined): void {
  if (keeping && carrier !== undefined && typeof event === 'object' && event !== null) carriers.set(event, carrier);
}

/**
 * The W3C trace context (`traceparent`, `tracestate`) an event a subscription
 * yielded travelled with: the context of the span that published it, read
 * from the Redis message or, in process, taken from the publish. `undefined`
 * when there was none (no SDK at the publisher, or a message without one).
 *
 * Lets a consumer carry the trace one hop further; the monitor gateway adds
 * it to the events it streams, so a browser can name the trace of what it
 * shows. Tidings keeps these contexts only once something asked: from the
 * first call of this function in the process, or from the creation of a
 * monitor gateway that forwards them. Events received before that have none.
 *
 * @example
 * ```ts
 * for await (const event of subscription) {
 *   const text = ingestCodec.encode(event, traceContextOf(event)); // the wire JSON, trace included
 * }
 * ```
 */
export function traceContextOf(event: object): TraceCarrier | undefined {
  keeping = true;
  return carriers.get(event);
}
