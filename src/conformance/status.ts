import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { BackendStatus } from '../core/contract.js';
import { type ConformanceHarness, waitFor, withService } from './harness.js';

/**
 * The optional backend status: a backend either has both `status` and
 * `onStatus` or neither; one that has them is ready while a subscription is
 * live and says `closed`, once, when closed.
 */
export function statusCases<T>(h: ConformanceHarness<T>): void {
  it('status and onStatus come together, or not at all (then the backend counts as always ready)', () =>
    withService(h, async (service) => {
      assert.equal(service.status === undefined, service.onStatus === undefined);
    }));

  it('is ready while a subscription is live; a watcher hears closed once, and nothing after it stopped', async () => {
    let closedService: Awaited<ReturnType<typeof h.connect>> | undefined;
    const heard: BackendStatus[] = [];
    const stoppedHeard: BackendStatus[] = [];
    await withService(h, async (service) => {
      closedService = service;
      if (service.onStatus === undefined) return;
      const stopped = service.onStatus((status) => stoppedHeard.push(status));
      stopped();
      stopped(); // idempotent
      service.onStatus((status) => heard.push(status));
      const sub = await service.subscribe();
      await waitFor(
        () => `ready, is ${JSON.stringify(service.status)}`,
        () => service.status?.state === 'ready',
      );
      await sub.close();
    });
    if (closedService?.onStatus === undefined) return;
    assert.deepEqual(closedService.status, { state: 'closed' });
    assert.deepEqual(
      heard.filter((status) => status.state === 'closed'),
      [{ state: 'closed' }],
    );
    assert.equal(heard.at(-1)?.state, 'closed', 'nothing after closed');
    assert.deepEqual(stoppedHeard, []);
  });
}
