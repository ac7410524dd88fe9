import type { DecodeError } from '../errors.js';

/**
 * W3C trace context carried next to an event on the wire, in optional
 * top-level fields that decoders unaware of them ignore.
 */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** Which field of a message's trace context was malformed, and dropped. */
export type TraceContextDrop = 'traceparent' | 'tracestate';

/** The outcome of decoding one message: never thrown, always returned. */
export type DecodeResult<T> =
  | {
      readonly ok: true;
      readonly event: T;
      /** The message's trace context, when it carried a well-formed one. */
      readonly trace?: TraceCarrier;
      /** A trace context field the message carried malformed, and that was dropped (the event is still valid). */
      readonly traceDropped?: TraceContextDrop;
    }
  | { readonly ok: false; readonly error: DecodeError };

/**
 * Turns events into wire text and back. Backends that cross a process
 * boundary (Redis) take one; `decode` must never throw, whatever the input.
 */
export interface Codec<T> {
  /** The wire text of `event`; with `trace`, its fields are added at the top level. */
  encode(event: T, trace?: TraceCarrier): string;
  /** Parses and validates; returns why when the text is not a valid event. */
  decode(text: string): DecodeResult<T>;
}
