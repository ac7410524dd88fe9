import { formatSseMessage } from './sse-writer.js';

/** An event's wire JSON, and its frame once built with the position its `id:` line names. */
interface Entry {
  readonly wire: string;
  position: string | undefined;
  frame: Buffer | undefined;
}

/**
 * Turns events into ready-to-write SSE frames, once per event whatever the
 * number of clients. Every subscription of a service receives the same event
 * object, so a `WeakMap` keyed by it lets the first client to need a frame
 * build it (redact, encode, format, UTF-8) and all the others reuse the bytes;
 * the entry goes away with the event. The `id:` line is the event's position,
 * the same for every client, so frames stay shareable.
 */
export class FrameCache<T extends object> {
  readonly #entries = new WeakMap<T, Entry>();
  readonly #toWire: (event: T) => string;

  /** @param toWire the event's wire JSON, already made safe for browsers (e.g. redacted). */
  constructor(toWire: (event: T) => string) {
    this.#toWire = toWire;
  }

  /** The length of `event`'s wire JSON (encoded once, then kept for its frame). */
  wireLength(event: T): number {
    return this.#entry(event).wire.length;
  }

  /**
   * The SSE frame for `event`: `id: <position>` when it has one, `data: <wire
   * JSON>` and a blank line.
   */
  frame(event: T, position?: string): Buffer {
    const entry = this.#entry(event);
    // One object published twice has two positions: the id decides, not the object alone.
    if (entry.frame !== undefined && entry.position === position) return entry.frame;
    const data = entry.wire;
    entry.frame = Buffer.from(formatSseMessage(position === undefined ? { data } : { id: position, data }), 'utf8');
    entry.position = position;
    return entry.frame;
  }

  #entry(event: T): Entry {
    let entry = this.#entries.get(event);
    if (entry === undefined) {
      entry = { wire: this.#toWire(event), position: undefined, frame: undefined };
      this.#entries.set(event, entry);
    }
    return entry;
  }
}
