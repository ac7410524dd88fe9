import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { commandCalls, useRedisServer } from '../../../test/support/redis-fixture.js';
import {
  eventually,
  pubsubClientIds,
  tidingsConnections,
  waitForNoTidingsConnections,
  warningsLogger,
} from '../../../test/support/redis-kit.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range } from '../../conformance/harness.js';
import {
  createRedisEventService,
  type RedisEventService,
  type RedisEventServiceOptions,
} from './redis-event-service.js';

describe('what a service asks of Redis', () => {
  const opened: RedisEventService<SeqEvent>[] = [];
  after(() => Promise.all(opened.map((svc) => svc.close()))); // before the server stops: hooks run in order
  const redis = useRedisServer();
  const service = (options: Partial<RedisEventServiceOptions<SeqEvent>> = {}): RedisEventService<SeqEvent> => {
    const created = createRedisEventService({
      redisAddress: redis.server.url,
      redisChannel: freshTopic(),
      codec: seqCodec,
      ...options,
    });
    opened.push(created);
    return created;
  };

  it('opens no publishing connection until the first publish', async () => {
    await waitForNoTidingsConnections(redis.admin);
    const svc = service();
    try {
      const sub = await svc.subscribe();
      await redis.admin.publish(svc.channel, JSON.stringify({ seq: 1 }));
      assert.equal((await sub.next()).value?.seq, 1);
      assert.deepEqual(
        await tidingsConnections(redis.admin),
        ['tidings-subscriber'],
        'subscribing alone: one connection',
      );
      assert.equal(await svc.publishConfirmed({ seq: 2 }), 1, 'the first publish opens it and still goes out');
      assert.equal((await sub.next()).value?.seq, 2);
      assert.deepEqual((await tidingsConnections(redis.admin)).sort(), ['tidings-publisher', 'tidings-subscriber']);
    } finally {
      await svc.close();
    }
    await waitForNoTidingsConnections(redis.admin);
  });

  it('sends one SUBSCRIBE for 1,000 subscriptions', async () => {
    const svc = service();
    const before = await commandCalls(redis.admin, 'subscribe');
    const subs = await Promise.all(range(0, 1_000).map(() => svc.subscribe()));
    assert.equal(svc.liveSubscriptions, 1_000);
    assert.equal((await commandCalls(redis.admin, 'subscribe')) - before, 1, 'Redis ran SUBSCRIBE once');
    await Promise.all(subs.map((sub) => sub.close()));
    await svc.close();
  });

  it('never reopens a healthy idle subscriber connection', async () => {
    const { logger, warnings } = warningsLogger();
    // Short enough for many heartbeats, long enough that a loaded machine's scheduling delays are not a dead server.
    const heartbeatMs = 100;
    const svc = service({ heartbeatMs, logger });
    const sub = await svc.subscribe();
    const [connection] = await pubsubClientIds(redis.admin);
    const pingsBefore = await commandCalls(redis.admin, 'ping');
    // Idle: every other heartbeat sends a PING, which a healthy Redis answers. Fifteen of them, about 30 heartbeats.
    await eventually(
      () => commandCalls(redis.admin, 'ping'),
      (calls) => calls - pingsBefore >= 15,
      (calls) => `only ${calls - pingsBefore} PINGs`,
      30_000,
    );
    assert.equal(svc.stats.reconnects, 0, 'no reconnect');
    assert.equal(sub.takeGap(), undefined, 'no gap');
    assert.deepEqual(await pubsubClientIds(redis.admin), [connection], 'the same subscriber connection throughout');
    assert.deepEqual(warnings, []);
    await redis.admin.publish(svc.channel, JSON.stringify({ seq: 7 }));
    assert.equal((await sub.next()).value?.seq, 7, 'and it still delivers');
    assert.equal(sub.takeGap(), undefined);
    await svc.close();
  });
});
