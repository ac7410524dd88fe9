import { Redis } from 'ioredis';
import type { RedisEventService } from '../../src/backends/redis/redis-event-service.js';
import { waitFor } from '../../src/conformance/harness.js';
import type { Gap, Subscription } from '../../src/core/contract.js';
import type { Logger } from '../../src/core/logger.js';
import type { SeqEvent } from './seq-codec.js';

/** Everything a background consumer saw: sequence numbers (probes excluded) and where gaps were reported. */
export interface Collected {
  seqs: number[];
  /** Each gap with `after`: how many (non-probe) events had been received when it became visible. */
  gaps: (Gap & { after: number })[];
  /** Settles when iteration ends; rejects if it threw. */
  done: Promise<void>;
}

/** Consumes `sub` in the background. Events with a negative seq are probes and not recorded. */
export function collect(sub: Subscription<SeqEvent>): Collected {
  const collected: Collected = { seqs: [], gaps: [], done: Promise.resolve() };
  collected.done = (async () => {
    for await (const event of sub) {
      const gap = sub.takeGap();
      if (gap) collected.gaps.push({ ...gap, after: collected.seqs.length });
      if (event.seq >= 0) collected.seqs.push(event.seq);
    }
  })();
  return collected;
}

/**
 * Publishes probes (seq -1) until Redis reports at least `receivers`
 * subscribed connections on the channel: the way to know a subscriber is
 * back after a fault without guessing a delay.
 */
export function waitForReceivers(
  publisher: RedisEventService<SeqEvent>,
  receivers = 1,
  timeoutMs = 20_000,
): Promise<void> {
  return eventually(
    () => publisher.publishConfirmed({ seq: -1 }).catch(() => 0),
    (got) => got >= receivers,
    (got) => `${got} of ${receivers} receivers on ${publisher.channel} after ${timeoutMs} ms`,
    timeoutMs,
  );
}

/**
 * Asks Redis (`probe`) until `done` holds for the answer. Each attempt waits
 * for a round trip, not a timer; the deadline only turns a hang into a failure
 * naming the last answer.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (answer: T) => boolean,
  describe: (last: T) => string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (done(answer)) return;
    if (Date.now() > deadline) throw new Error(describe(answer));
  }
}

/** An admin connection for fault injection and inspection. */
export function adminClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: null });
}

/** A logger that keeps its warnings' messages and drops everything else. */
export function warningsLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return { logger: { debug: ignore, info: ignore, error: ignore, warn: (_f, m) => warnings.push(m) }, warnings };
}

/** Ids of the connections Redis holds in subscriber mode. */
export async function pubsubClientIds(admin: Redis): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  return [...list.matchAll(/(?:^|\n)id=(\d+)/g)].map((match) => match[1] as string);
}

/** Connections Redis currently holds whose name starts with `tidings-`, by name. */
export async function tidingsConnections(admin: Redis): Promise<string[]> {
  const list = String(await admin.client('LIST'));
  return list
    .split('\n')
    .map((line) => /(?:^| )name=(tidings-\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Waits until Redis holds no Tidings connection any more (nothing leaked on the server side). */
export function waitForNoTidingsConnections(admin: Redis): Promise<void> {
  return eventually(
    () => tidingsConnections(admin),
    (open) => open.length === 0,
    (open) => `Tidings connections still open: ${open.join(', ')}`,
  );
}

/** Waits until a collector got to `seq` (events arrive in order, so the last one tells). */
export function waitForSeq(collected: Collected, seq: number, timeoutMs = 20_000): Promise<void> {
  return waitFor(`seq ${seq} received`, () => (collected.seqs.at(-1) ?? -1) >= seq, timeoutMs);
}

/** True when the numbers strictly increase (no reordering, no duplicates). */
export function strictlyIncreasing(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i] as number) <= (values[i - 1] as number)) return false;
  return true;
}
