import type { DecodeError } from '../errors.js';

/** The outcome of decoding one message: never thrown, always returned. */
export type DecodeResult<T> =
  | { readonly ok: true; readonly event: T }
  | { readonly ok: false; readonly error: DecodeError };

/**
 * Turns events into wire text and back. Backends that cross a process
 * boundary (Redis) take one; `decode` must never throw, whatever the input.
 */
export interface Codec<T> {
  encode(event: T): string;
  decode(text: string): DecodeResult<T>;
}
