import type { Gap, SubscribeOptions } from '../../core/contract.js';
import type { FanOut } from '../../core/fan-out.js';
import { OLDEST, type PositionFormat } from '../../core/position.js';
import type { LocalSubscription } from '../../core/subscription.js';
import { PositionError } from '../../errors.js';
import type { History } from './history.js';

/**
 * A loss kept in a history at the place it happened (an upstream reconnect
 * seen by a replay window), so a subscription replaying across that place
 * meets it there as a {@link Gap}, as a live one did. It takes a sequence
 * number but is never yielded and never named by a position handed out.
 */
export class GapMark {
  readonly reason: Gap['reason'];
  readonly dropped: number;

  constructor(reason: Gap['reason'], dropped: number) {
    this.reason = reason;
    this.dropped = dropped;
  }
}

/** A history, the positions that name its sequence numbers, and the live subscriptions fed from it. */
export interface Retained<T> {
  readonly history: History<T | GapMark>;
  readonly positions: PositionFormat;
  readonly fanOut: FanOut<T>;
}

/**
 * Opens a subscription on `retained.fanOut`: live from now, or, with
 * `options.from`, replaying what the history holds after it and then live,
 * with no duplicate and no hole at the seam.
 * @throws {PositionError} for a foreign, malformed or ahead `from` (before anything is opened).
 * @throws {TypeError} on invalid options.
 */
export function openWithHistory<T>(retained: Retained<T>, options: SubscribeOptions | undefined): LocalSubscription<T> {
  const { history, positions, fanOut } = retained;
  const from = options?.from;
  // Checked before opening, so a bad position leaves nothing behind.
  const after = from === undefined ? undefined : resumeAfter(from, history, positions);
  const sub = fanOut.open(options);
  if (after === undefined) {
    sub.startAt(history.next > 1 ? positions.format(history.next - 1) : undefined);
  } else {
    sub.startAt(from === OLDEST ? undefined : positions.format(after));
    replay(sub, retained, after + 1);
  }
  return sub;
}

/** The sequence number `from` names (0: before everything). */
function resumeAfter(from: string, history: History<unknown>, positions: PositionFormat): number {
  if (from === OLDEST) return history.first - 1;
  const seq = Number(positions.parse(from));
  if (seq >= history.next) {
    throw new PositionError('ahead', 'the position is ahead of every event this service has published');
  }
  return seq;
}

/**
 * Feeds `sub` from the history, starting at `start`, as it reads; it joins
 * live delivery the moment it has caught up. Delivery is synchronous, so
 * nothing can be appended between its last retained event and joining.
 */
function replay<T>(sub: LocalSubscription<T>, { history, positions }: Retained<T>, start: number): void {
  let cursor = start;
  const refill = (): void => {
    history.trim(Date.now());
    if (cursor < history.first) {
      sub.reportGap('expired', history.first - cursor);
      cursor = history.first;
    }
    for (let free = sub.free; free > 0 && cursor < history.next; cursor++) {
      const entry = history.get(cursor);
      if (entry instanceof GapMark) {
        sub.reportGap(entry.reason, entry.dropped);
      } else {
        sub.deliverRetained(entry, positions.format(cursor));
        free--;
      }
    }
    if (cursor === history.next) sub.endReplay();
  };
  sub.beginReplay(refill);
  refill();
}
