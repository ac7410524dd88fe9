import type { Codec, DecodeResult, TraceCarrier, TraceContextDrop } from '../core/codec.js';
import { DecodeError, type DecodeFailure } from '../errors.js';
import { checkTraceContext } from '../observability/trace-context.js';
import { type Catalogue, ingestCatalogue, storageCatalogue } from './catalogue.js';
import { fromLegacyGoa } from './legacy-goa.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail<T>(reason: DecodeFailure, message: string, details: ConstructorParameters<typeof DecodeError>[2]) {
  return { ok: false, error: new DecodeError(reason, message, details) } as DecodeResult<T>;
}

function decodeWith<E extends { type: string; value: unknown }>(
  catalogue: Catalogue<E>,
  text: string,
): DecodeResult<E> {
  if (typeof text !== 'string') {
    return fail('not-json', `expected the message as a string, got ${text === null ? 'null' : typeof text}`, {});
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (cause) {
    return fail('not-json', 'message is not JSON', { cause });
  }
  if (!isObject(root)) {
    // `/`, not the empty pointer: an empty path reads as a missing one wherever it is printed.
    return fail('no-envelope', 'message is not a JSON object with a "value" member', { path: '/' });
  }

  let type: string;
  let payload: unknown;
  const envelope = root.value;
  if (isObject(envelope) && typeof envelope.type === 'string') {
    type = envelope.type;
    payload = envelope.value;
  } else {
    const legacy = fromLegacyGoa(root);
    if (legacy === undefined) {
      const path = isObject(envelope) ? '/value/type' : '/value';
      return fail('no-envelope', `message has no ${catalogue.name} event envelope ({"value":{"type":…,"value":…}})`, {
        path,
      });
    }
    if (!legacy.ok) return fail('not-json', legacy.message, { path: legacy.path, cause: legacy.cause });
    type = legacy.type;
    payload = legacy.value;
  }

  const member = catalogue.member(type);
  if (member === undefined) {
    return fail('unknown-type', `unknown ${catalogue.name} event type ${JSON.stringify(type)}`, {
      path: '/value/type',
      eventType: type,
    });
  }
  if (payload === undefined) {
    return fail('invalid-payload', `invalid ${type} payload at /value/value: missing required field 'value'`, {
      path: '/value/value',
      eventType: type,
    });
  }
  if (!member.check.Check(payload)) {
    return { ok: false, error: catalogue.invalidPayload(type, payload, member)! };
  }

  const event = catalogue.event(type, member.canonicalize(payload));
  // Only a well-formed W3C context travels on (to spans, to browsers); a malformed one is reported, not kept.
  const { trace, dropped } = checkTraceContext(root);
  const decoded: { ok: true; event: E; trace?: TraceCarrier; traceDropped?: TraceContextDrop } = { ok: true, event };
  if (trace !== undefined) decoded.trace = trace;
  if (dropped !== undefined) decoded.traceDropped = dropped;
  return decoded;
}

function encodeWith<E extends { type: string; value: unknown }>(
  catalogue: Catalogue<E>,
  event: E,
  trace?: TraceCarrier,
): string {
  if (!isObject(event) || typeof event.type !== 'string' || !catalogue.has(event.type)) {
    const type = isObject(event) ? event.type : undefined;
    throw new TypeError(`event: unknown ${catalogue.name} event type ${JSON.stringify(String(type))}`);
  }
  if (event.value === undefined) throw new TypeError(`event: ${event.type} has no value`);
  return wireText(event.type, catalogue.canonicalPayload(event.type, event.value), trace);
}

/** The wire text of an already canonical payload: the envelope, then the trace fields. */
export function wireText(type: string, value: unknown, trace?: TraceCarrier): string {
  const envelope = `"value":{"type":${JSON.stringify(type)},"value":${JSON.stringify(value)}}`;
  if (trace === undefined) return `{${envelope}}`;
  const parent = trace.traceparent === undefined ? '' : `,"traceparent":${JSON.stringify(trace.traceparent)}`;
  const state = trace.tracestate === undefined ? '' : `,"tracestate":${JSON.stringify(trace.tracestate)}`;
  return `{${envelope}${parent}${state}}`;
}

function codecFor<E extends { type: string; value: unknown }>(catalogue: Catalogue<E>): Codec<E> {
  return Object.freeze({
    encode: (event: E, trace?: TraceCarrier) => encodeWith(catalogue, event, trace),
    decode: (text: string): DecodeResult<E> => {
      try {
        return decodeWith(catalogue, text);
      } catch (cause) {
        // Defence in depth: nothing above is expected to throw, but a decoder
        // fed from the network must not be able to crash its caller.
        return fail('invalid-payload', 'message could not be decoded', { cause });
      }
    },
  });
}

/**
 * The wire codec of ingest events (`{"value":{"type":…,"value":{…}}}`).
 *
 * - `encode(event, trace?)` writes the wire JSON: catalogued fields only, in
 *   canonical order, absent optionals omitted, date-times untouched; `trace`
 *   adds top-level `traceparent`/`tracestate` after `"value"`. Throws a
 *   `TypeError` for an event whose `type` is not an ingest type (it does not
 *   validate the payload: the publish helpers do).
 * - `decode(text)` never throws. It parses, validates the payload with a
 *   compiled validator, drops unknown fields, and returns the event (with
 *   `trace` when the message carried one) or a {@link DecodeError} whose
 *   `reason` is `not-json`, `no-envelope`, `unknown-type` (with `eventType`)
 *   or `invalid-payload` (with the JSON pointer `path` of the first
 *   violation, e.g. `/value/value/item/status`; a missing required field is
 *   reported as `missing required field 'status'` at the pointer it should
 *   have had). `path` is never empty: `/` when the message as a whole is
 *   at fault. The legacy goa encoding
 *   (`{"event"|"ingest_value"|"storage_value"|"value":{"Type":…,"Value":"<Go JSON>"}}`)
 *   is accepted and normalised; its errors' paths point into the normalised event.
 *
 * @example
 * ```ts
 * const result = ingestCodec.decode(message);
 * if (result.ok) handle(result.event);
 * else if (result.error.reason === 'unknown-type') skippedNewerEvents++;
 * ```
 */
export const ingestCodec: Codec<MonitorEvent> = codecFor(ingestCatalogue);

/** The wire codec of storage events; behaves exactly as {@link ingestCodec} does for its own union. */
export const storageCodec: Codec<StorageMonitorEvent> = codecFor(storageCatalogue);
