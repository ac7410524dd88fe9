import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SubscribeOptions } from '../core/contract.js';
import { ServiceClosedError } from '../errors.js';
import { type ConformanceHarness, freshTopic, take, waitFor, withService } from './harness.js';

/** Every way of ending a subscription ends iteration promptly and frees it. */
export function lifecycleCases<T>(h: ConformanceHarness<T>): void {
  it('close() resolves a pending next() as done', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      const pending = sub.next();
      await sub.close();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal(sub.closed, true);
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('close() twice is safe and iteration stays done', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      await sub.close();
      await sub.close();
      assert.equal((await sub.next()).done, true);
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('close() discards buffered events', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      service.publish(h.event(1));
      await waitFor('event buffered', () => sub.pending === 1);
      await sub.close();
      assert.equal(sub.pending, 0);
      assert.equal((await sub.next()).done, true);
    }));

  it('break out of for await releases the subscription', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      service.publish(h.event(1));
      for await (const event of sub) {
        assert.equal(h.indexOf(event), 1);
        break;
      }
      assert.equal(sub.closed, true);
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('await using releases the subscription at scope end', () =>
    withService(h, async (service) => {
      {
        await using sub = await service.subscribe();
        assert.equal(service.liveSubscriptions, 1);
        assert.equal(sub.closed, false);
      }
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('aborting the signal ends iteration and releases the subscription', () =>
    withService(h, async (service) => {
      const controller = new AbortController();
      const sub = await service.subscribe({ signal: controller.signal });
      const pending = sub.next();
      controller.abort();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('an already aborted signal makes subscribe() reject with its reason', () =>
    withService(h, async (service) => {
      const reason = new Error('caller gave up');
      await assert.rejects(service.subscribe({ signal: AbortSignal.abort(reason) }), reason);
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('rejects invalid subscribe options with a TypeError naming them', () =>
    withService(h, async (service) => {
      await assert.rejects(service.subscribe({ bufferSize: 0 }), { name: 'TypeError', message: /bufferSize/ });
      await assert.rejects(service.subscribe({ overflow: 'block' } as unknown as SubscribeOptions), {
        name: 'TypeError',
        message: /overflow/,
      });
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('service close() ends every subscription and rejects new ones', async () => {
    const service = await h.connect(freshTopic());
    const subs = await Promise.all([service.subscribe(), service.subscribe(), service.subscribe()]);
    const pending = subs.map((sub) => sub.next());
    await service.close();
    for (const result of await Promise.all(pending)) assert.equal(result.done, true);
    assert.equal(service.liveSubscriptions, 0);
    assert.equal(service.closed, true);
    await assert.rejects(service.subscribe(), ServiceClosedError);
    await service.close();
  });

  it('publish after close neither throws nor delivers', async () => {
    const topic = freshTopic();
    const service = await h.connect(topic);
    const sub = await service.subscribe();
    await service.close();
    assert.doesNotThrow(() => service.publish(h.event(1)));
    assert.equal((await sub.next()).done, true);
    if (!h.features.crossInstance) return;
    // Across instances: the first thing a peer sees must be what a live service published afterwards.
    const [peer, live] = await Promise.all([h.connect(topic), h.connect(topic)]);
    try {
      const peerSub = await peer.subscribe();
      service.publish(h.event(2));
      live.publish(h.event(3));
      assert.deepEqual((await take(peerSub, 1)).map(h.indexOf), [3]);
    } finally {
      await Promise.all([peer.close(), live.close()]);
    }
  });
}
