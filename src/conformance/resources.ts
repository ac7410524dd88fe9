import assert from 'node:assert/strict';
import { getEventListeners, setMaxListeners } from 'node:events';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SlowConsumerError } from '../errors.js';
import { type ConformanceHarness, freshTopic, range, waitFor, withService } from './harness.js';

const CYCLES = 100_000;
/** Heap allowed to remain after all cycles, beyond the warmed-up baseline. */
const HEAP_BOUND = 4 * 1024 * 1024;

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Subscriptions that end leave nothing behind. */
export function resourceCases<T>(h: ConformanceHarness<T>): void {
  it(`${CYCLES.toLocaleString('en')} subscribe/close cycles leave no live subscriptions and no heap growth`, () =>
    withService(h, async (service) => {
      const gc = collector();
      const cycle = async (): Promise<void> => {
        const controller = new AbortController();
        const sub = await service.subscribe({ signal: controller.signal });
        await sub.close();
      };
      for (let i = 0; i < 1_000; i++) await cycle();
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < CYCLES; i++) await cycle();
      assert.equal(service.liveSubscriptions, 0);
      gc();
      const growth = process.memoryUsage().heapUsed - before;
      assert.ok(growth < HEAP_BOUND, `heap grew by ${growth} bytes over ${CYCLES} cycles`);
    }));

  it('a signal shared by many subscriptions holds no listener once they ended, however they ended', async () => {
    // A request- or process-scoped signal outlives its subscriptions: each one that ends must take its listener along.
    const controller = new AbortController();
    const { signal } = controller;
    // Fifty live at once is the point here, not the leak Node's warning guesses at.
    setMaxListeners(0, signal);
    const listeners = (): number => getEventListeners(signal, 'abort').length;
    const service = await h.connect(freshTopic());
    try {
      for (let i = 0; i < 1_000; i++) await (await service.subscribe({ signal })).close();
      assert.equal(listeners(), 0, 'after 1,000 subscribe/close cycles');

      const together = await Promise.all(range(0, 50).map(() => service.subscribe({ signal })));
      await Promise.all(together.map((sub) => sub.close()));
      assert.equal(listeners(), 0, 'after 50 subscriptions opened at once, then closed');

      const broken = await service.subscribe({ signal });
      service.publish(h.event(1));
      for await (const _ of broken) break;
      assert.equal(listeners(), 0, 'after break out of for await');

      {
        await using _ = await service.subscribe({ signal });
      }
      assert.equal(listeners(), 0, 'after await using');

      const evicted = await service.subscribe({ signal, bufferSize: 1, overflow: 'evict' });
      service.publish(h.event(1));
      service.publish(h.event(2));
      await waitFor('subscriber evicted', () => evicted.closed);
      assert.equal(listeners(), 0, 'after eviction, before the consumer read anything');
      await evicted.next();
      await assert.rejects(evicted.next(), SlowConsumerError);

      await Promise.all(range(0, 10).map(() => service.subscribe({ signal })));
    } finally {
      await service.close();
    }
    assert.equal(listeners(), 0, 'after the service closed its subscriptions');
    assert.equal(signal.aborted, false);
  });
}
