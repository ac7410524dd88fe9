// The Redis backend's status over a real redis-server this file starts and stops:
// what it says while connecting, subscribed, down and closed, who hears it, and
// when the reconnect gap becomes visible.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventually } from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, waitFor } from '../../conformance/harness.js';
import type { BackendState, BackendStatus } from '../../core/contract.js';
import { createRedisEventService, type RedisEventService } from './redis-event-service.js';

const servers: RedisServer[] = [];
const services: RedisEventService<SeqEvent>[] = [];

after(async () => {
  await Promise.all(services.map((service) => service.close()));
  await Promise.all(servers.map((server) => server.stop()));
});

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  servers.push(started);
  return started;
}

function service(redis: RedisServer, channel = freshTopic()): RedisEventService<SeqEvent> {
  const created = createRedisEventService({ redisAddress: redis.url, redisChannel: channel, codec: seqCodec });
  services.push(created);
  return created;
}

function waitForState(service: RedisEventService<SeqEvent>, state: BackendState): Promise<void> {
  return waitFor(
    () => `status ${state}, is ${JSON.stringify(service.status)}`,
    () => service.status?.state === state,
    15_000,
  );
}

describe('Redis backend status', () => {
  it('is connecting until Redis answers, ready once subscribed, down while Redis is gone, closed at the end', async () => {
    const redis = await server();
    redis.pause(); // connections are accepted by the kernel and never answered: not subscribed yet
    const events = service(redis);
    const heard: BackendStatus[] = [];
    const stop = events.onStatus((status) => heard.push(status));
    assert.equal(events.status.state, 'connecting');
    assert.match(events.status.reason ?? '', /subscribing/);

    redis.resume();
    await waitForState(events, 'ready');
    await redis.stop();
    await waitForState(events, 'down');
    assert.match(events.status.reason ?? '', /Redis/);
    assert.doesNotMatch(events.status.reason ?? '', /127\.0\.0\.1|:\d{2,5}/, 'no address in the reason');
    await redis.restart();
    await waitForState(events, 'ready');
    await events.close();
    assert.equal(events.status.state, 'closed');
    assert.deepEqual(
      heard.map((status) => status.state),
      ['ready', 'down', 'ready', 'closed'],
      'each change heard once, none repeated',
    );
    stop(); // after close: harmless
  });

  it('watching holds the channel subscription with no subscriber, and letting go releases it', async () => {
    const redis = await server();
    const channel = freshTopic();
    const events = service(redis, channel);
    const probe = service(redis, channel);
    const stop = events.onStatus(() => {});
    await waitForState(events, 'ready');
    assert.equal(events.liveSubscriptions, 0, 'watching opens no subscription of its own');
    assert.equal(await probe.publishConfirmed({ seq: 1 }), 1, 'Redis counts the watching service as a receiver');
    stop();
    await eventually(
      () => probe.publishConfirmed({ seq: 2 }),
      (receivers) => receivers === 0,
      (receivers) => `still ${receivers} receivers once nobody watches`,
    );
  });

  it('reports the reconnect gap once resubscribed, not while Redis is down', async () => {
    const redis = await server();
    const events = service(redis);
    const sub = await events.subscribe();
    await redis.stop();
    await waitForState(events, 'down');
    assert.equal(sub.takeGap(), undefined, 'no gap while nothing can be re-fetched consistently');
    await redis.restart();
    await waitForState(events, 'ready');
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
    await sub.close();
  });
});
