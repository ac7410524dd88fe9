import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ConformanceHarness, withService } from './harness.js';

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
}
