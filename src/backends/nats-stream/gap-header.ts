import type { JsMsg } from '@nats-io/jetstream';

/**
 * The header that makes a stream message a bridge's gap record (its value the
 * record's JSON, its body empty): a window in which nobody copied the Redis
 * channel into the stream, so events may be missing there.
 */
export const GAP_HEADER = 'Tidings-Gap';

/** Whether `msg` is a gap record rather than an event. */
export function isGapRecord(msg: JsMsg): boolean {
  return msg.headers?.has(GAP_HEADER) === true;
}
