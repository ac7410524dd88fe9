import { formatSseMessage } from './sse-writer.js';

/**
 * Turns events into ready-to-write SSE frames, once per event whatever the
 * number of clients. Every subscription of a service receives the same event
 * object, so a `WeakMap` keyed by it lets the first client to need a frame
 * build it (redact, encode, format, UTF-8) and all the others reuse the bytes;
 * the entry goes away with the event.
 */
export class FrameCache<T extends object> {
  readonly #frames = new WeakMap<T, Buffer>();
  readonly #toWire: (event: T) => string;

  /** @param toWire the event's wire JSON, already made safe for browsers (e.g. redacted). */
  constructor(toWire: (event: T) => string) {
    this.#toWire = toWire;
  }

  /** The SSE frame for `event`: `data: <wire JSON>` and a blank line. */
  frame(event: T): Buffer {
    let frame = this.#frames.get(event);
    if (frame === undefined) {
      frame = Buffer.from(formatSseMessage({ data: this.#toWire(event) }), 'utf8');
      this.#frames.set(event, frame);
    }
    return frame;
  }
}
