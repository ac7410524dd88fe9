import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { EventService, Gap, Subscription } from '../core/contract.js';
import { PositionError, ReplayUnsupportedError } from '../errors.js';
import { type ConformanceHarness, freshTopic, range, take, waitFor, withService } from './harness.js';

/** Events of the long run every position is resumed from. */
const RUN = 10_000;
/** Positions whose whole remainder is read back (every position gets its next event checked). */
const FULL_CHECKS = [0, 1, 2, 4_999, RUN - 3, RUN - 2];

/**
 * Publishes `indexes` and reads them back through a live subscription,
 * collecting each event's position. Published `chunk` at a time, each read
 * back before the next, so that a live reader never falls further behind
 * than a chunk (on a small retention it would otherwise meet an `expired` gap).
 */
async function publishRun<T>(
  h: ConformanceHarness<T>,
  service: EventService<T>,
  indexes: readonly number[],
  chunk = indexes.length,
): Promise<string[]> {
  const sub = await service.subscribe({ bufferSize: Math.min(chunk, indexes.length) + 1 });
  const positions: string[] = [];
  for (let start = 0; start < indexes.length; start += chunk) {
    const part = indexes.slice(start, start + chunk);
    for (const i of part) service.publish(h.event(i));
    for (const i of part) {
      const result = await sub.next();
      assert.equal(result.done, false);
      assert.equal(h.indexOf(result.value as T), i);
      assert.equal(typeof sub.position, 'string', 'every event of a replaying backend has a position');
      positions.push(sub.position as string);
    }
  }
  assert.equal(sub.takeGap(), undefined, 'a live reader within retention misses nothing');
  await sub.close();
  return positions;
}

/** Waits until a replaying subscription has caught up with what was there, and nothing is left to read. */
async function caughtUp<T>(sub: Subscription<T>): Promise<void> {
  await waitFor('the subscription to catch up', () => !sub.replaying);
  assert.equal(sub.pending, 0, 'nothing beyond the end of the run');
}

/**
 * Replay, for backends that declare it (`service.replay`): resuming after a
 * position yields exactly what followed it, in order, without duplicates,
 * across the seam between history and live; a position past retention gives
 * an `expired` gap; a foreign or malformed position is a typed error.
 */
export function replayCases<T>(h: ConformanceHarness<T>): void {
  it('a backend without replay refuses `from` with ReplayUnsupportedError; one with it declares its bounds', () =>
    withService(h, async (service) => {
      if (service.replay === undefined) {
        await assert.rejects(service.subscribe({ from: 'oldest' }), ReplayUnsupportedError);
        assert.equal(service.liveSubscriptions, 0);
        return;
      }
      const { maxEvents, maxAgeMs, approximate } = service.replay;
      assert.ok(maxEvents === undefined || (Number.isSafeInteger(maxEvents) && maxEvents > 0));
      assert.ok(maxAgeMs === undefined || maxAgeMs > 0);
      assert.equal(typeof approximate, 'boolean');
    }));

  it(`resumes after every position of a ${RUN.toLocaleString('en')}-event run with exactly what followed`, () =>
    withService(h, async (service, topic) => {
      if (service.replay === undefined) return;
      const positions = await publishRun(h, service, range(0, RUN));
      assert.equal(new Set(positions).size, RUN, 'positions are distinct');

      // Every position: the next event is the one that followed it.
      const batch = 50;
      for (let start = 0; start < RUN; start += batch) {
        await Promise.all(
          range(start, Math.min(start + batch, RUN)).map(async (i) => {
            const sub = await service.subscribe({ from: positions[i], bufferSize: 4 });
            assert.equal(sub.position, positions[i], 'before its first event, the position is `from`');
            if (i === RUN - 1) await caughtUp(sub);
            else {
              const result = await sub.next();
              assert.equal(h.indexOf(result.value as T), i + 1, `resumed after event ${i}`);
              assert.equal(sub.position, positions[i + 1]);
            }
            assert.equal(sub.takeGap(), undefined);
            await sub.close();
          }),
        );
      }

      // Some positions: the whole remainder, through a small buffer that is refilled many times.
      for (const i of FULL_CHECKS) {
        const sub = await service.subscribe({ from: positions[i], bufferSize: 64 });
        const rest = (await take(sub, RUN - 1 - i)).map(h.indexOf);
        assert.deepEqual(rest, range(i + 1, RUN), `the rest after event ${i} on ${topic}`);
        await caughtUp(sub);
        assert.equal(sub.takeGap(), undefined);
        await sub.close();
      }

      const all = await service.subscribe({ from: 'oldest', bufferSize: 1_000 });
      assert.deepEqual((await take(all, RUN)).map(h.indexOf), range(0, RUN), 'from "oldest": everything retained');
      await all.close();
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('a subscription opened without `from` starts at the newest position: resuming there yields what came after', () =>
    withService(h, async (service) => {
      if (service.replay === undefined) return;
      await publishRun(h, service, range(0, 5));
      const sub = await service.subscribe();
      const start = sub.position;
      assert.equal(typeof start, 'string');
      assert.equal(sub.replaying, false);
      for (const i of range(5, 10)) service.publish(h.event(i));
      assert.deepEqual((await take(sub, 5)).map(h.indexOf), range(5, 10));
      const resumed = await service.subscribe({ from: start as string });
      assert.deepEqual((await take(resumed, 5)).map(h.indexOf), range(5, 10));
      await sub.close();
      await resumed.close();
    }));

  it('a position older than what is retained: an `expired` gap first, then everything retained, in order', async () => {
    if (h.connectRetaining === undefined) return;
    const retain = 100;
    const service = await h.connectRetaining(freshTopic(), retain);
    try {
      if (service.replay === undefined) return;
      const positions = await publishRun(h, service, range(0, 1_000), retain / 2);
      const sub = await service.subscribe({ from: positions[10], bufferSize: 32 });
      const first = await sub.next();
      const gap: Gap | undefined = sub.takeGap();
      assert.equal(gap?.reason, 'expired', 'the loss is reported before or with the first retained event');
      const oldest = h.indexOf(first.value as T);
      assert.ok(oldest > 11 && oldest <= 1_000 - retain, `the oldest retained event (${oldest}) is within bounds`);
      if (gap.dropped !== 0) assert.equal(gap.dropped, oldest - 11, 'a known count is exact');
      const rest = (await take(sub, 999 - oldest)).map(h.indexOf);
      assert.deepEqual(rest, range(oldest + 1, 1_000), 'then everything retained');
      assert.equal(sub.takeGap(), undefined, 'one gap');
      await sub.close();
    } finally {
      await service.close();
    }
  });

  it('live publishing during a replay neither duplicates nor skips at the seam between history and live', () =>
    withService(h, async (service) => {
      if (service.replay === undefined) return;
      const before = 3_000;
      const total = 6_000;
      await publishRun(h, service, range(0, before));
      const sub = await service.subscribe({ from: 'oldest', bufferSize: total });
      let published = before;
      const publisher = (async () => {
        while (published < total) {
          for (const i of range(published, published + 100)) service.publish(h.event(i));
          published += 100;
          await nextMacrotask();
        }
      })();
      const got: number[] = [];
      while (got.length < total) {
        const result = await sub.next();
        assert.equal(result.done, false);
        got.push(h.indexOf(result.value as T));
        assert.equal(sub.takeGap(), undefined, `no gap (after ${got.length} events)`);
      }
      await publisher;
      assert.deepEqual(got, range(0, total));
      await sub.close();
    }));

  it('a malformed or foreign position is a PositionError, a non-string a TypeError; nothing is left open', async () => {
    const other = await h.connect(freshTopic());
    try {
      await withService(h, async (service) => {
        if (service.replay === undefined) return;
        const [foreign] = await publishRun(h, other, [0]);
        await assert.rejects(service.subscribe({ from: foreign as string }), (error: unknown) => {
          assert.ok(error instanceof PositionError);
          assert.equal(error.problem, 'foreign');
          return true;
        });
        const garbage = ['', 'garbage', ':', 'x'.repeat(1_000), '1-0', '42', 'mem.AAAAAAAA:5', 'rs.AAAAAAAAAA:1-0'];
        for (const from of garbage) {
          await assert.rejects(service.subscribe({ from }), PositionError, JSON.stringify(from.slice(0, 20)));
        }
        await assert.rejects(service.subscribe({ from: 42 as unknown as string }), TypeError);
        assert.equal(service.liveSubscriptions, 0);
      });
    } finally {
      await other.close();
    }
  });

  it('a subscription closed while replaying ends at once and is forgotten', () =>
    withService(h, async (service) => {
      if (service.replay === undefined) return;
      await publishRun(h, service, range(0, 500));
      const sub = await service.subscribe({ from: 'oldest', bufferSize: 16 });
      assert.deepEqual((await take(sub, 3)).map(h.indexOf), [0, 1, 2]);
      await sub.close();
      assert.equal((await sub.next()).done, true);
      assert.equal(sub.replaying, false);
      await waitFor('the subscription to be forgotten', () => service.liveSubscriptions === 0);
    }));
}
