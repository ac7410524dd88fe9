import {
  type Context,
  createTraceState,
  INVALID_SPANID,
  INVALID_TRACEID,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { TraceCarrier } from '../core/codec.js';

// W3C Trace Context, written and read here rather than through the global
// propagator: the wire field must be W3C whatever propagator an application
// registers (or none), since the other side may be a Go service.
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The carrier for the context of a span a tracer just started, or `undefined`
 * when there is no trace to carry (no SDK: the API's all-zero ids). Runs on
 * every publish, so it trusts a tracer's ids to be hex rather than re-checking
 * them; the receiving side checks them all.
 */
export function toCarrier(spanContext: SpanContext): TraceCarrier | undefined {
  const { traceId, spanId } = spanContext;
  if (traceId === INVALID_TRACEID || spanId === INVALID_SPANID || traceId.length !== 32 || spanId.length !== 16) {
    return undefined;
  }
  const flags = spanContext.traceFlags & TraceFlags.SAMPLED ? '01' : '00';
  const carrier: TraceCarrier = { traceparent: `00-${traceId}-${spanId}-${flags}` };
  const state = spanContext.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** The remote span context a carrier names, or `undefined` when it is absent or malformed. */
export function fromCarrier(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const traceparent = carrier?.traceparent;
  if (traceparent === undefined || !TRACEPARENT.test(traceparent)) return undefined;
  // Fixed positions once the shape is known: `00-<32 hex>-<16 hex>-<2 hex>`.
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  if (traceId === INVALID_TRACEID || spanId === INVALID_SPANID) return undefined;
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(traceparent.slice(53), 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (carrier?.tracestate) spanContext.traceState = createTraceState(carrier.tracestate);
  return spanContext;
}

/** `context` with `remote` as its parent span. */
export function withRemoteParent(context: Context, remote: SpanContext): Context {
  return trace.setSpanContext(context, remote);
}
