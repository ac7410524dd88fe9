import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type ConformanceHarness, freshTopic, range, take, waitFor, withService } from './harness.js';

/** Live subscribers receive every event, in publish order. */
export function deliveryCases<T>(h: ConformanceHarness<T>): void {
  it('delivers an event published right after subscribe() resolves', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      service.publish(h.event(1));
      const result = await sub.next();
      assert.equal(result.done, false);
      assert.equal(h.indexOf(result.value as T), 1);
      await sub.close();
    }));

  it('gives each subscription a distinct UUID', () =>
    withService(h, async (service) => {
      const a = await service.subscribe();
      const b = await service.subscribe();
      assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(a.id, b.id);
      await a.close();
      await b.close();
    }));

  it('fans out every event to 50 subscribers', () =>
    withService(h, async (service) => {
      const subs = await Promise.all(range(0, 50).map(() => service.subscribe()));
      assert.equal(service.liveSubscriptions, 50);
      for (const i of range(0, 20)) service.publish(h.event(i));
      for (const sub of subs) {
        const got = (await take(sub, 20)).map(h.indexOf);
        assert.deepEqual(got, range(0, 20));
        await sub.close();
      }
      assert.equal(service.liveSubscriptions, 0);
    }));

  it('delivers 10,000 events complete and in publish order', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe({ bufferSize: 10_000 });
      const received = (async () => (await take(sub, 10_000)).map(h.indexOf))();
      for (const i of range(0, 10_000)) service.publish(h.event(i));
      assert.deepEqual(await received, range(0, 10_000));
      assert.equal(sub.dropped, 0);
      await sub.close();
    }));

  it('counts what it handed to the consumer and what is pending', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      for (const i of range(0, 5)) service.publish(h.event(i));
      await waitFor('5 events buffered', () => sub.pending === 5);
      await take(sub, 3);
      assert.equal(sub.delivered, 3);
      assert.equal(sub.pending, 2);
      await sub.close();
    }));

  it('resolves publishConfirmed with the receiver count', () =>
    withService(h, async (service) => {
      const sub = await service.subscribe();
      assert.ok((await service.publishConfirmed(h.event(7))) >= 1);
      assert.equal(h.indexOf((await sub.next()).value as T), 7);
      await sub.close();
    }));

  it(h.features.crossInstance
    ? 'delivers across service instances on one topic'
    : 'delivers across service instances on one topic (skipped: backend is process-local)', {
    skip: !h.features.crossInstance,
  }, async () => {
    const topic = freshTopic();
    const [publisher, subscriber] = await Promise.all([h.connect(topic), h.connect(topic)]);
    try {
      const sub = await subscriber.subscribe();
      for (const i of range(0, 100)) publisher.publish(h.event(i));
      assert.deepEqual((await take(sub, 100)).map(h.indexOf), range(0, 100));
      await sub.close();
    } finally {
      await Promise.all([publisher.close(), subscriber.close()]);
    }
  });
}
