import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SlowConsumerError } from '../errors.js';
import { type ConformanceHarness, range, take, waitFor, withService } from './harness.js';

const SIZE = 16;
const BURST = SIZE + 10;
/** The contract's default bufferSize, spelled out rather than imported so that changing the constant fails here. */
const DEFAULT_SIZE = 256;

/** A full buffer applies the subscription's overflow policy exactly, and the loss is reported. */
export function overflowCases<T>(h: ConformanceHarness<T>): void {
  it('drop-newest keeps the first bufferSize events, counts the rest, and recovers once drained', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe({ bufferSize: SIZE });
      for (const i of range(0, BURST)) service.publish(h.event(i));
      await waitFor('buffer full and overflow counted', () => sub.pending + sub.dropped === BURST);
      assert.equal(sub.pending, SIZE);
      assert.equal(sub.dropped, 10);

      assert.deepEqual((await take(sub, SIZE - 1)).map(h.indexOf), range(0, SIZE - 1));
      assert.equal(sub.takeGap(), undefined, 'the gap lies after the last buffered event');
      assert.deepEqual((await take(sub, 1)).map(h.indexOf), [SIZE - 1]);
      assert.deepEqual(sub.takeGap(), { reason: 'overflow', dropped: 10 });
      assert.equal(sub.takeGap(), undefined, 'a gap is reported once');

      service.publish(h.event(1000));
      assert.deepEqual((await take(sub, 1)).map(h.indexOf), [1000]);
      assert.equal(sub.dropped, 10);
      assert.equal(service.liveSubscriptions, 1);
      await sub.close();
    }));

  it('without options, buffers 256 events (the default bufferSize), drops the newest beyond and says so', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      for (const i of range(0, DEFAULT_SIZE + 44)) service.publish(h.event(i));
      await waitFor('every event buffered or dropped', () => sub.pending + sub.dropped === DEFAULT_SIZE + 44);
      assert.equal(sub.pending, DEFAULT_SIZE);
      assert.equal(sub.dropped, 44);
      assert.deepEqual((await take(sub, DEFAULT_SIZE)).map(h.indexOf), range(0, DEFAULT_SIZE));
      assert.deepEqual(sub.takeGap(), { reason: 'overflow', dropped: 44 });
      await sub.close();
    }));

  it('drop-oldest keeps the newest bufferSize events and reports the loss first', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe({ bufferSize: SIZE, overflow: 'drop-oldest' });
      for (const i of range(0, BURST)) service.publish(h.event(i));
      await waitFor('overflow counted', () => sub.dropped === 10);
      assert.equal(sub.pending, SIZE);
      assert.deepEqual(sub.takeGap(), { reason: 'overflow', dropped: 10 });
      assert.deepEqual((await take(sub, SIZE)).map(h.indexOf), range(10, BURST));
      await sub.close();
    }));

  it('evict ends only the slow subscriber, with SlowConsumerError after its buffer', () =>
    withService(h, async (service) => {
      const slow = await service.subscribe({ bufferSize: SIZE, overflow: 'evict' });
      const healthy = await service.subscribe({ bufferSize: 1000, overflow: 'evict' });
      for (const i of range(0, BURST)) service.publish(h.event(i));
      await waitFor('slow subscriber evicted', () => slow.closed);
      await waitFor('healthy subscriber got everything', () => healthy.pending === BURST);
      assert.equal(service.liveSubscriptions, 1);
      assert.equal(slow.dropped, 1);

      assert.deepEqual((await take(slow, SIZE)).map(h.indexOf), range(0, SIZE));
      await assert.rejects(slow.next(), (error: unknown) => {
        assert.ok(error instanceof SlowConsumerError);
        assert.equal(error.code, 'ERR_SLOW_CONSUMER');
        assert.equal(error.bufferSize, SIZE);
        return true;
      });
      assert.equal((await slow.next()).done, true, 'after the error iteration is done');

      assert.deepEqual((await take(healthy, BURST)).map(h.indexOf), range(0, BURST));
      assert.equal(healthy.dropped, 0);
      await healthy.close();
    }));

  it('counts drops per subscription, exactly, without touching other subscribers', () =>
    withService(h, async (service) => {
      const small = await service.subscribe({ bufferSize: 1 });
      const medium = await service.subscribe({ bufferSize: 7, overflow: 'drop-oldest' });
      const large = await service.subscribe({ bufferSize: 500 });
      for (const i of range(0, 300)) service.publish(h.event(i));
      await waitFor('every event accounted for', () =>
        [small, medium, large].every((sub) => sub.pending + sub.dropped === 300),
      );
      assert.deepEqual([small.dropped, medium.dropped, large.dropped], [299, 293, 0]);
      assert.deepEqual((await take(small, 1)).map(h.indexOf), [0]);
      assert.deepEqual((await take(medium, 7)).map(h.indexOf), range(293, 300));
      assert.deepEqual((await take(large, 300)).map(h.indexOf), range(0, 300));
      await Promise.all([small.close(), medium.close(), large.close()]);
    }));

  it('keeps memory bounded for a subscriber that never reads', () =>
    withService(h, async (service) => {
      const stalled = await service.subscribe({ bufferSize: SIZE });
      const reader = await service.subscribe({ bufferSize: 5_000 });
      const read = take(reader, 5_000);
      for (const i of range(0, 5_000)) service.publish(h.event(i));
      assert.deepEqual((await read).map(h.indexOf), range(0, 5_000));
      await waitFor('stalled subscriber accounted for', () => stalled.pending + stalled.dropped === 5_000);
      assert.equal(stalled.pending, SIZE);
      await stalled.close();
      await reader.close();
    }));
}
