// End to end: a producer that only PUBLISHes, bridges copying into the stream,
// and Tidings' Redis Streams backend reading it (live and replaying), on a
// redis-server this file starts. A window with no bridge reaches both kinds of
// subscription as one `reconnect` gap, at its place, and nothing twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { collect, waitForSeq } from '../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../test/support/seq-codec.js';
import {
  createRedisStreamEventService,
  type RedisStreamEventService,
} from '../backends/redis-stream/redis-stream-event-service.js';
import { freshTopic, range, waitFor } from '../conformance/harness.js';
import { type Bridge, createBridge } from './bridge.js';

describe('bridge → Redis Streams backend (real redis-server)', { timeout: 30_000 }, () => {
  let server: RedisServer;
  let producer: Redis;
  const bridges: Bridge[] = [];
  const services: RedisStreamEventService<SeqEvent>[] = [];
  before(async () => {
    server = await startRedisServer();
    producer = new Redis(server.url);
  });
  after(async () => {
    await Promise.allSettled(bridges.map((bridge) => bridge.close()));
    await Promise.allSettled(services.map((service) => service.close()));
    producer?.disconnect();
    await server?.stop();
  });

  const startBridge = async (channel: string, id: string): Promise<Bridge> => {
    const bridge = createBridge({ redisAddress: server.url, channel, id, leaseTtlMs: 300 });
    bridges.push(bridge);
    await bridge.start();
    await waitFor(`${id} active and subscribed`, () => bridge.status().subscribed);
    return bridge;
  };
  const publish = async (channel: string, seqs: number[]): Promise<void> => {
    for (const seq of seqs) await producer.publish(channel, seqCodec.encode({ seq }));
  };

  it('events copied by two bridges in turn, with the window between them as one reconnect gap', async () => {
    const channel = freshTopic();
    const service = createRedisStreamEventService({ redisAddress: server.url, streamKey: channel, codec: seqCodec });
    services.push(service);
    const live = collect(await service.subscribe());

    const a = await startBridge(channel, 'A');
    await publish(channel, range(0, 20));
    await waitForSeq(live, 19);
    await a.close();
    await publish(channel, range(20, 30)); // no bridge is running: these are lost, and the stream says so
    await startBridge(channel, 'B');
    await publish(channel, range(30, 40));
    await waitForSeq(live, 39);

    assert.deepEqual(live.seqs, [...range(0, 20), ...range(30, 40)], 'each copied event once, in order');
    assert.deepEqual(live.gaps, [{ reason: 'reconnect', dropped: 0, after: 20 }]);

    const replaying = await service.subscribe({ from: 'oldest' });
    const seen: (number | string)[] = [];
    while (seen.length < 31) {
      const { value } = await replaying.next();
      seen.push((value as SeqEvent).seq);
      // A gap is visible once everything before it was read: right after event 19.
      const gap = replaying.takeGap();
      if (gap) seen.push(gap.reason);
    }
    assert.deepEqual(seen, [...range(0, 20), 'reconnect', ...range(30, 40)]);
    assert.equal(replaying.takeGap(), undefined, 'the gap is reported once');
    await replaying.close();
  });
});
