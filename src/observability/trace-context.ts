import {
  type Context,
  createTraceState,
  isSpanContextValid,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { TraceCarrier } from '../core/codec.js';

// W3C Trace Context, written and read here rather than through the global
// propagator: the wire field must be W3C whatever propagator an application
// registers (or none), since the other side may be a Go service.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The carrier for a span context, or `undefined` when there is no trace to carry. */
export function toCarrier(spanContext: SpanContext): TraceCarrier | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  const carrier: TraceCarrier = { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
  const state = spanContext.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** The remote span context a carrier names, or `undefined` when it is absent or malformed. */
export function fromCarrier(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const match = carrier?.traceparent ? TRACEPARENT.exec(carrier.traceparent) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (carrier?.tracestate) spanContext.traceState = createTraceState(carrier.tracestate);
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** `context` with `remote` as its parent span. */
export function withRemoteParent(context: Context, remote: SpanContext): Context {
  return trace.setSpanContext(context, remote);
}
