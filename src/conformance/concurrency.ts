import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { Subscription } from '../core/contract.js';
import { type ConformanceHarness, range, take, withService } from './harness.js';

const EVENTS = 10_000;
const CHUNK = 100;
const CHURNERS = 8;

/** Subscribers coming and going never disturb delivery to the ones that stay. */
export function concurrencyCases<T>(h: ConformanceHarness<T>): void {
  it('subscribers opened and closed while 10,000 events are published: no throw, stayers get all', () =>
    withService(h, async (service) => {
      const stayers = await Promise.all(range(0, 5).map(() => service.subscribe({ bufferSize: EVENTS })));
      const received = stayers.map(async (sub) => (await take(sub, EVENTS)).map(h.indexOf));
      let publishing = true;
      let churned = 0;

      const churn = async (): Promise<void> => {
        while (publishing) {
          const sub: Subscription<T> = await service.subscribe({ bufferSize: 8 });
          churned++;
          // Half read something first, half close straight away.
          if (churned % 2 === 0 && sub.pending > 0) await sub.next();
          await sub.close();
          // An in-memory backend resolves all of this in microtasks: give the publisher its turn.
          await nextMacrotask();
        }
      };
      const churners = range(0, CHURNERS).map(churn);

      for (let i = 0; i < EVENTS; i += CHUNK) {
        for (let j = i; j < i + CHUNK; j++) service.publish(h.event(j));
        await nextMacrotask();
      }
      publishing = false;
      await Promise.all(churners);

      for (const got of await Promise.all(received)) assert.deepEqual(got, range(0, EVENTS));
      assert.ok(churned >= CHURNERS, `churners ran (${churned} cycles)`);
      assert.equal(service.liveSubscriptions, stayers.length);
      await Promise.all(stayers.map((sub) => sub.close()));
      assert.equal(service.liveSubscriptions, 0);
    }));
}
