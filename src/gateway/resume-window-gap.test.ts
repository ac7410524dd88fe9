// A Redis reconnect inside the gateway's window stays at its place: a client
// resuming across it (over Redis pub/sub, which keeps no history) gets the
// `gap` event between the events from before and after the outage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRedisServer } from '../../test/support/redis-server.js';
import { streamOnce } from '../../test/support/resume-client.js';
import { readIngest, seqEvent } from '../../test/support/seq-monitor-events.js';
import { openSse } from '../../test/support/sse-client.js';
import { waitFor } from '../conformance/harness.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';
import { createMonitorGateway } from './monitor-gateway.js';

const TOKEN = 'window-gap-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('the gateway window over Redis pub/sub', () => {
  it('keeps a Redis reconnect at its place: a client resuming across it gets the gap there', {
    timeout: 60_000,
  }, async () => {
    const redis = await startRedisServer();
    const config = { redisAddress: redis.url, redisChannel: 'window-gap' };
    const ingest = newIngestEventServiceRedis(undefined, undefined, config);
    const producer = newIngestEventServiceRedis(undefined, undefined, config);
    const gateway = createMonitorGateway({
      ingest,
      tokens: [{ token: TOKEN }],
      dashboard: false,
      pingIntervalMs: 600_000,
    });
    const url = `${await gateway.listen()}/ingest/monitor`;
    const watcher = await openSse(url, auth);
    const seen = (seq: number) => () =>
      watcher.messages.some((m) => m.event === 'message' && m.data.includes(`"name":"${seq}"`));
    try {
      // A client reads event 0 and leaves.
      let hello = false;
      const leaving = streamOnce(url, {
        headers: auth,
        onFrame: (frame) => {
          if (frame.event !== 'message') return undefined;
          const { seq } = readIngest(frame);
          if (seq === undefined) hello = true;
          return seq === 0 ? 'cut' : undefined;
        },
      });
      await waitFor('the client to connect', () => hello);
      await producer.publishConfirmed(seqEvent(0));
      const { lastId } = await leaving;
      assert.match(lastId ?? '', /^gw\./);
      await producer.publishConfirmed(seqEvent(1));
      await waitFor('event 1 at the gateway', seen(1));

      // Redis goes away and comes back: the gateway's own subscription missed whatever was published meanwhile.
      await redis.stop();
      await watcher.waitFor((m) => m.some((x) => x.event === 'backend' && x.data.includes('lost')), 15_000);
      await redis.restart();
      await watcher.waitFor((m) => m.some((x) => x.event === 'gap'), 15_000);
      await waitFor(
        'the producer to publish again',
        () => {
          producer.publish(seqEvent(2));
          return seen(2)();
        },
        15_000,
      );

      // The client comes back after event 0: 1, then the gap where it happened, then 2.
      const back = await streamOnce(url, {
        headers: auth,
        lastId,
        onFrame: (frame) => (frame.event === 'message' && readIngest(frame).seq === 2 ? 'cut' : undefined),
      });
      const shown = back.frames
        .slice(1)
        .map((frame) =>
          frame.event === 'gap' ? `gap:${JSON.parse(frame.data).reason}` : String(readIngest(frame).seq),
        );
      assert.deepEqual(shown, ['1', 'gap:reconnect', '2']);
    } finally {
      watcher.close();
      await gateway.close();
      await Promise.all([ingest.close(), producer.close()]);
      await redis.stop();
    }
  });
});
