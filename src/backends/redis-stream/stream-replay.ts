import type { LocalSubscription } from '../../core/subscription.js';
import { type RawEntry, readEntry, type StreamInfo, trimmedAfter } from './stream-entries.js';
import { compareIds } from './stream-ids.js';

/** Entries per `XRANGE` at most: bounds the time one read holds Redis, and what is held ahead per subscription. */
const MAX_PAGE = 1_000;

/** A replay read that failed (command connection down) is tried again after this long. */
const RETRY_MS = 200;

/** Marks, among the entries read ahead, where Redis had trimmed entries the subscription never got. */
const EXPIRED = Symbol('expired');

/** What a replay needs of its service. */
export interface ReplaySource<T> {
  /** Up to `count` entries after `after`, with the stream info that tells whether entries after it were trimmed. */
  page(after: string, count: number): Promise<{ info: StreamInfo | undefined; entries: RawEntry[] }>;
  /** The event an entry's `m` holds; undefined for one that does not decode (counted and logged by the source). */
  decode(text: string): T | undefined;
  /** An entry that is neither an event nor a gap record: counted and logged by the source. */
  skip(why: string): void;
  /** The position of a stream ID. */
  position(id: string): string;
  /** The last ID live delivery took, or undefined while that is unknown (the reader is starting or reconnecting). */
  liveLast(): string | undefined;
  /** The subscription joins live delivery; it already has every entry up to `through`. */
  joinLive(sub: LocalSubscription<T>, through: string): void;
  /** Events handed over, for the counters. */
  delivered(count: number): void;
  /** A read failed; it is retried. */
  failed(error: unknown): void;
  /** True once the service closed. */
  closed(): boolean;
}

/**
 * Feeds one subscription from the stream after `after`: reads a page ahead
 * (on the command connection) while the subscriber consumes, decodes each
 * entry as it is handed over, and joins live delivery once a read found the
 * end of the stream and live delivery has nothing the subscription lacks.
 *
 * With `checkFirstRead`, the first read also tells whether entries right
 * after `after` were trimmed (an `expired` gap first); later reads always do.
 */
export function replayInto<T>(
  sub: LocalSubscription<T>,
  after: string,
  checkFirstRead: boolean,
  source: ReplaySource<T>,
): void {
  const pageSize = Math.min(sub.bufferSize, MAX_PAGE);
  /** Entries read and not yet handed over, oldest first, from `next` on. */
  let ahead: (RawEntry | typeof EXPIRED)[] = [];
  let next = 0;
  /** The last ID read from Redis; the last one handed over is that too once `ahead` is drained. */
  let fetched = after;
  let reading = false;
  /** The last read came back short: it reached the end of the stream as it was then. */
  let atEnd = false;
  let lastReadEmpty = false;
  /** Where live delivery stood when an empty read was followed by another. */
  let emptyAgainst: string | undefined;
  let checkExpiry = checkFirstRead;

  const hand = (): void => {
    let handed = 0;
    while (next < ahead.length && sub.free > 0) {
      const item = ahead[next++] as RawEntry | typeof EXPIRED;
      if (item === EXPIRED) {
        sub.reportGap('expired', 0);
        continue;
      }
      const fields = item[1];
      // The common case, as Tidings and the bridge write events: one field `m`.
      let text = fields.length === 2 && fields[0] === 'm' ? fields[1] : undefined;
      if (text === undefined) {
        const entry = readEntry(fields);
        if (entry.kind === 'gap') {
          sub.reportGap('reconnect');
          continue;
        }
        if (entry.kind === 'invalid') {
          source.skip(entry.why);
          continue;
        }
        text = entry.text;
      }
      const event = source.decode(text);
      if (event !== undefined && sub.deliverRetained(event, source.position(item[0]))) handed++;
    }
    if (next === ahead.length) {
      ahead = [];
      next = 0;
    }
    if (handed > 0) source.delivered(handed);
  };

  const read = (): void => {
    reading = true;
    source.page(fetched, pageSize).then(
      ({ info, entries }) => {
        reading = false;
        if (sub.closed || !sub.replaying || source.closed()) return;
        if (checkExpiry && info !== undefined && trimmedAfter(info, fetched)) ahead.push(EXPIRED);
        checkExpiry = true;
        for (const entry of entries) {
          if (compareIds(entry[0], fetched) <= 0) continue;
          ahead.push(entry);
          fetched = entry[0];
        }
        atEnd = entries.length < pageSize;
        lastReadEmpty = entries.length === 0;
        refill();
      },
      (error: unknown) => {
        reading = false;
        if (sub.closed || source.closed()) return;
        source.failed(error);
        setTimeout(refill, RETRY_MS).unref();
      },
    );
  };

  const refill = (): void => {
    if (sub.closed || !sub.replaying || source.closed()) return;
    hand();
    if (reading) return;
    const left = ahead.length - next;
    if (left > 0) {
      // Read the next page while the subscriber works through what is here.
      if (!atEnd && left < pageSize) read();
      return;
    }
    if (!atEnd) {
      read();
      return;
    }
    const live = source.liveLast();
    if (live === undefined) {
      // Where live delivery stands is unknown until the reader is back: look again soon.
      setTimeout(refill, RETRY_MS).unref();
      return;
    }
    // Joining before having what live delivery already took would leave a hole. An empty read does not prove
    // there is nothing: its reply and the reader's travel on different connections, so the reader may have taken
    // entries appended after the read. Only a read issued after live delivery stood where it stands now, and
    // still empty, proves those entries are gone (deleted, or a recreated stream).
    const gone = lastReadEmpty && emptyAgainst !== undefined && compareIds(emptyAgainst, live) === 0;
    if (gone || compareIds(fetched, live) >= 0) {
      source.joinLive(sub, fetched);
      return;
    }
    emptyAgainst = lastReadEmpty ? live : undefined;
    atEnd = false;
    read();
  };

  sub.beginReplay(refill);
  refill();
}
