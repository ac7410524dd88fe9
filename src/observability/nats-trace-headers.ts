import { headers, Match, type MsgHdrs } from '@nats-io/transport-node';
import type { TraceCarrier, TraceContextDrop } from '../core/codec.js';
import { checkTraceContext } from './trace-context.js';

/**
 * W3C Trace Context in NATS message headers: the header names HTTP uses,
 * so a Go or Java service with the OpenTelemetry NATS propagation reads
 * the same context the Redis wire carries in its body fields.
 */
const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/**
 * The headers that carry `trace` on a NATS message, or `undefined` when there
 * is no trace: a message without headers is sent as a plain `PUB`, which
 * costs the server and every receiver less.
 */
export function traceHeaders(trace: TraceCarrier | undefined): MsgHdrs | undefined {
  if (trace?.traceparent === undefined) return undefined;
  const carried = headers();
  carried.set(TRACEPARENT, trace.traceparent);
  if (trace.tracestate) carried.set(TRACESTATE, trace.tracestate);
  return carried;
}

/**
 * The trace context a received message's headers carry, as far as it is
 * well-formed (the same checks as for the Redis wire's body fields); what is
 * not is dropped and named in `dropped`. Names match in any case, as in HTTP.
 * Two `traceparent` headers are malformed (W3C); several `tracestate`
 * headers are one list, joined with commas.
 */
export function traceFromHeaders(carried: MsgHdrs | undefined): {
  trace?: TraceCarrier;
  dropped?: TraceContextDrop;
} {
  if (carried === undefined) return {};
  const parents = carried.values(TRACEPARENT, Match.IgnoreCase);
  const states = carried.values(TRACESTATE, Match.IgnoreCase);
  if (parents.length === 0 && states.length === 0) return {};
  const traceparent = parents.length === 1 ? parents[0] : parents.length === 0 ? undefined : parents;
  const tracestate = states.length === 0 ? undefined : states.join(',');
  return checkTraceContext({ traceparent, tracestate });
}
