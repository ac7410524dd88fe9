import type { EventService, Gap, Subscription } from '../core/contract.js';
import {
  emptyMonitorState,
  type MonitorState,
  type MonitorStateEvent,
  reduceMonitorState,
} from '../monitor/monitor-state.js';

/**
 * The monitor state a page starts from, and the position it reflects: the
 * page opens its stream with `Last-Event-ID: <position>` and folds what
 * follows into `state` with the same reducer.
 */
export interface MonitorSnapshot {
  /** The position of the last event read (shown or not); `null` when none was (empty history, or no replay). */
  readonly position: string | null;
  readonly state: MonitorState;
  /** Events read from the history, including those this client may not see. */
  readonly events: number;
  /** Events left out because they could not be turned into what the stream would send (counted, not fatal). */
  readonly skipped: number;
  /**
   * False when the state is known to miss something: the backend keeps no
   * history, the history was trimmed while it was read, the read stopped at
   * its cap or deadline, or the state was cut to fit the response. The state
   * and position still agree: what follows the position reaches the page
   * through its stream.
   */
  readonly complete: boolean;
}

/** Options of {@link readMonitorSnapshot}. */
export interface SnapshotReadOptions<E> {
  /**
   * The event as this client would see it on its stream, or `undefined` when
   * it may not see it. An event it throws on is skipped and counted.
   */
  readonly view: (event: E) => MonitorStateEvent | undefined;
  /** Most events read; the snapshot then reflects the position reached. */
  readonly maxEvents: number;
  /** Longest the read may take, in ms; the snapshot then reflects the position reached. */
  readonly timeoutMs: number;
}

/** Events folded between two turns of the event loop. */
const YIELD_EVERY = 500;

/**
 * Folds `service`'s retained history, from the oldest event up to what was
 * published when the read caught up, into a {@link MonitorSnapshot}. A
 * backend that cannot replay gives the empty state at no position.
 *
 * The read stops early, at a position it fully reflects, at the first hole
 * (an overflow or reconnect gap: what follows it would not be the next
 * events), at `maxEvents`, or at the deadline.
 * @throws what `subscribe` throws (e.g. `ServiceClosedError`).
 */
export async function readMonitorSnapshot<E>(
  service: EventService<E>,
  options: SnapshotReadOptions<E>,
): Promise<MonitorSnapshot> {
  if (service.replay === undefined) {
    return { position: null, state: emptyMonitorState(), events: 0, skipped: 0, complete: false };
  }
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const sub: Subscription<E> = await service.subscribe({ from: 'oldest', bufferSize: 1024, signal: deadline });
  let state = emptyMonitorState();
  let events = 0;
  let skipped = 0;
  let complete = true;
  try {
    // Caught up: no retained event left to read, and nothing live buffered.
    while (sub.replaying || sub.pending > 0) {
      if (events >= options.maxEvents) {
        complete = false;
        break;
      }
      const result = await sub.next();
      if (result.done) {
        complete = false;
        break;
      }
      events++;
      // Retained events resolve at once, as microtasks: without a turn of the event loop now and then, a long
      // read would hold every stream's writes and pings until it ends.
      if (events % YIELD_EVERY === 0) await new Promise<void>((resume) => setImmediate(resume));
      let view: MonitorStateEvent | undefined;
      try {
        view = options.view(result.value);
      } catch {
        skipped++;
        complete = false;
      }
      if (view !== undefined) state = reduceMonitorState(state, view);
      const gap: Gap | undefined = sub.takeGap();
      if (gap !== undefined) {
        complete = false;
        // Trimmed history only means less to show; any other loss is a hole the position must not cross.
        if (gap.reason !== 'expired') break;
      }
    }
  } finally {
    await sub.close();
  }
  return { position: sub.position ?? null, state, events, skipped, complete };
}

/**
 * The snapshot as JSON of at most `maxBytes` bytes: past that the oldest
 * half of every collection is dropped, repeatedly, and `complete` turns false.
 */
export function snapshotJson(snapshot: MonitorSnapshot, maxBytes: number): string {
  let current = snapshot;
  let json = JSON.stringify(current);
  const halved = <T>(items: readonly T[]): readonly T[] => items.slice(0, Math.floor(items.length / 2));
  while (Buffer.byteLength(json) > maxBytes && Object.values(current.state).some((items) => items.length > 0)) {
    const { sips, batches, aips, locations, activity } = current.state;
    const state = {
      sips: halved(sips),
      batches: halved(batches),
      aips: halved(aips),
      locations: halved(locations),
      activity: halved(activity),
    };
    current = { ...current, state, complete: false };
    json = JSON.stringify(current);
  }
  return json;
}
