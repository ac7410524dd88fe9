import {
  type Context,
  createTraceState,
  INVALID_SPANID,
  INVALID_TRACEID,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { TraceCarrier, TraceContextDrop } from '../core/codec.js';

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

/**
 * Whether `value` is a W3C `traceparent` Tidings passes on: version 00
 * (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase), neither id all zeros. Other
 * versions are refused rather than guessed at: `ff` is invalid, and a later
 * one may carry fields that nobody here can vouch for.
 */
export function isValidTraceparent(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    TRACEPARENT.test(value) &&
    value.slice(3, 35) !== INVALID_TRACEID &&
    value.slice(36, 52) !== INVALID_SPANID
  );
}

/** W3C tracestate limits: characters, list members, and the grammar of a key and of a value. */
const MAX_TRACESTATE_CHARS = 512;
const MAX_TRACESTATE_MEMBERS = 32;
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Whether `value` is a W3C `tracestate` within the limits Tidings passes on:
 * at most 512 characters and 32 list members, each `key=value` by the W3C
 * grammar (empty members allowed), no key twice.
 */
export function isValidTracestate(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_TRACESTATE_CHARS) return false;
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const equals = member.indexOf('=');
    if (equals < 0) return false;
    const key = member.slice(0, equals);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(equals + 1)) || keys.has(key)) return false;
    keys.add(key);
    if (keys.size > MAX_TRACESTATE_MEMBERS) return false;
  }
  return true;
}

/**
 * The trace context in a message's top-level `traceparent`/`tracestate`
 * fields, as far as it is well-formed (see {@link isValidTraceparent},
 * {@link isValidTracestate}); what is not is dropped and named in `dropped`.
 * A bad `traceparent` takes its `tracestate` with it, and a `tracestate`
 * alone means nothing (W3C), so it is dropped too. An empty `tracestate`
 * counts as none.
 */
export function checkTraceContext(
  fields: { readonly traceparent?: unknown; readonly tracestate?: unknown } | undefined,
): {
  trace?: TraceCarrier;
  dropped?: TraceContextDrop;
} {
  const { traceparent, tracestate } = fields ?? {};
  const hasState = tracestate !== undefined && tracestate !== '';
  if (traceparent === undefined) return hasState ? { dropped: 'tracestate' } : {};
  if (!isValidTraceparent(traceparent)) return { dropped: 'traceparent' };
  if (!hasState) return { trace: { traceparent } };
  if (!isValidTracestate(tracestate)) return { trace: { traceparent }, dropped: 'tracestate' };
  return { trace: { traceparent, tracestate } };
}

/** The remote span context a carrier names, or `undefined` when it is absent or malformed. */
export function fromCarrier(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const traceparent = carrier?.traceparent;
  if (!isValidTraceparent(traceparent)) return undefined;
  // Fixed positions once the shape is known: `00-<32 hex>-<16 hex>-<2 hex>`.
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(traceparent.slice(53), 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (carrier?.tracestate && isValidTracestate(carrier.tracestate)) {
    spanContext.traceState = createTraceState(carrier.tracestate);
  }
  return spanContext;
}

/** `context` with `remote` as its parent span. */
export function withRemoteParent(context: Context, remote: SpanContext): Context {
  return trace.setSpanContext(context, remote);
}
