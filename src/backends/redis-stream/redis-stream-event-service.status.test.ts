// The Streams backend's status over a real redis-server this file starts and stops:
// what it says while connecting, reading, down and closed, who hears it, what
// watching holds, and when a gap for what Redis lost becomes visible.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { adminClient, eventually } from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, waitFor } from '../../conformance/harness.js';
import type { BackendState, BackendStatus } from '../../core/contract.js';
import { createRedisStreamEventService, type RedisStreamEventService } from './redis-stream-event-service.js';

const servers: RedisServer[] = [];
const services: RedisStreamEventService<SeqEvent>[] = [];

after(async () => {
  await Promise.all(services.map((service) => service.close()));
  await Promise.all(servers.map((server) => server.stop()));
});

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  servers.push(started);
  return started;
}

function service(redis: RedisServer, key = freshTopic()): RedisStreamEventService<SeqEvent> {
  const created = createRedisStreamEventService({ redisAddress: redis.url, streamKey: key, codec: seqCodec });
  services.push(created);
  return created;
}

function waitForState(service: RedisStreamEventService<SeqEvent>, state: BackendState): Promise<void> {
  return waitFor(
    () => `status ${state}, is ${JSON.stringify(service.status)}`,
    () => service.status.state === state,
    15_000,
  );
}

/** The flags Redis shows for the service's reading connection (`b`: blocked in XREAD). */
async function readerFlags(redis: RedisServer): Promise<string | undefined> {
  const admin = adminClient(redis.url);
  try {
    return /name=tidings-stream-reader .*?flags=(\S+)/.exec(String(await admin.client('LIST')))?.[1];
  } finally {
    admin.disconnect();
  }
}

describe('Redis Streams backend status', { timeout: 60_000 }, () => {
  it('is connecting until Redis answers, ready once reading, down while Redis is gone, closed at the end', async () => {
    const redis = await server();
    redis.pause(); // connections are accepted by the kernel and never answered
    const events = service(redis);
    const heard: BackendStatus[] = [];
    const stop = events.onStatus((status) => heard.push(status));
    assert.equal(events.status.state, 'connecting');
    assert.match(events.status.reason ?? '', /reading the Redis stream/);

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

  it('watching keeps the reader blocked in XREAD with no subscriber, and letting go stops it', async () => {
    const redis = await server();
    const events = service(redis);
    const stop = events.onStatus(() => {});
    await waitForState(events, 'ready');
    assert.equal(events.liveSubscriptions, 0, 'watching opens no subscription of its own');
    await eventually(
      () => readerFlags(redis),
      (flags) => flags?.includes('b') === true,
      (flags) => `the reader is not blocked in XREAD (flags ${flags})`,
    );
    stop();
    await eventually(
      () => readerFlags(redis),
      (flags) => flags !== undefined && !flags.includes('b'),
      (flags) => `the reader still reads once nobody watches (flags ${flags})`,
    );
    assert.equal(events.status.state, 'connecting', 'without demand: the command connection, never opened');
  });

  it('reports what a restart without persistence lost once reading again, not while Redis is down', async () => {
    const redis = await server();
    const events = service(redis);
    const sub = await events.subscribe();
    await events.publishConfirmed({ seq: 1 });
    assert.equal((await sub.next()).value?.seq, 1);
    await redis.stop();
    await waitForState(events, 'down');
    assert.equal(sub.takeGap(), undefined, 'no gap while nothing can be re-fetched consistently');
    await redis.restart();
    await waitForState(events, 'ready');
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
    await sub.close();
  });
});
