// The state routes over the Redis backends, each against its own redis-server: Redis Streams (the
// backend's own history) and Redis pub/sub (the gateway's replay window). State plus the stream resumed
// from its position is exactly the whole history, whatever keeps it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { openSse, type SseTestClient } from '../../test/support/sse-client.js';
import { freshTopic } from '../conformance/harness.js';
import {
  emptyMonitorState,
  type MonitorState,
  type MonitorStateEvent,
  reduceMonitorState,
} from '../monitor/monitor-state.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';
import { newIngestEventServiceRedisStream } from '../monitor/redis-stream-services.js';
import type { MonitorEvent } from '../monitor/schemas.js';
import type { IngestEventService } from '../monitor/services.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';
import type { MonitorSnapshot } from './monitor-snapshot.js';

const TOKEN = 'backends';
const T0 = '2026-11-30T09:00:00Z';

function sipEvents(uuid: string, name: string): MonitorEvent[] {
  const workflow = `${uuid}-w`;
  return [
    { type: 'sip_created_event', value: { uuid, item: { uuid, status: 'queued', created_at: T0 } } },
    { type: 'sip_updated_event', value: { uuid, item: { uuid, name, status: 'processing', created_at: T0 } } },
    {
      type: 'sip_workflow_created_event',
      value: {
        uuid: workflow,
        item: {
          uuid: workflow,
          sip_uuid: uuid,
          temporal_id: 't',
          type: 'create aip',
          status: 'in progress',
          started_at: T0,
        },
      },
    },
    {
      type: 'sip_task_updated_event',
      value: {
        uuid: `${uuid}-t`,
        item: { uuid: `${uuid}-t`, name: 'Download', status: 'done', workflow_uuid: workflow },
      },
    },
    { type: 'sip_status_updated_event', value: { uuid, status: 'ingested' } },
  ];
}

const fold = (events: readonly MonitorStateEvent[], state: MonitorState = emptyMonitorState()) =>
  events.reduce((s, e) => reduceMonitorState(s, e), state);
const isEvent = (m: { event: string; data: string }) => m.event === 'message' && !m.data.includes('ping_event');
const eventsOf = (client: SseTestClient): MonitorStateEvent[] =>
  client.messages.filter(isEvent).map((m) => (JSON.parse(m.data) as { value: MonitorStateEvent }).value);

const BACKENDS: Record<string, (redisAddress: string) => IngestEventService> = {
  'Redis Streams (its own history)': (redisAddress) =>
    newIngestEventServiceRedisStream(undefined, undefined, { redisAddress, streamKey: freshTopic() }),
  'Redis pub/sub (the gateway window)': (redisAddress) =>
    newIngestEventServiceRedis(undefined, undefined, { redisAddress, redisChannel: freshTopic() }),
};

describe('monitor state routes over Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  for (const [name, open] of Object.entries(BACKENDS)) {
    it(`${name}: state plus the stream resumed from its position is the whole history, once`, async () => {
      const ingest = open(redis.url);
      let gateway: Gateway | undefined;
      const clients: SseTestClient[] = [];
      try {
        gateway = createMonitorGateway({ ingest, tokens: [{ token: TOKEN }], state: { cacheMs: 0 } });
        const url = await gateway.listen();
        const headers = { authorization: `Bearer ${TOKEN}` };
        // A live client first: once it has every event, so has whatever the gateway serves from.
        const witness = await openSse(`${url}/ingest/monitor`, headers);
        clients.push(witness);
        const first = sipEvents('b1', 'Before.zip');
        for (const event of first) await ingest.publishConfirmed(event);
        await witness.waitFor((messages) => messages.filter(isEvent).length >= first.length, 15_000);

        const response = await fetch(`${url}/ingest/state`, { headers });
        assert.equal(response.status, 200);
        const snapshot = (await response.json()) as MonitorSnapshot;
        assert.deepEqual(snapshot.state, fold(first));
        assert.equal(snapshot.complete, true);
        assert.ok(snapshot.position, 'a position to resume from');

        const meanwhile = sipEvents('b2', 'Meanwhile.zip');
        for (const event of meanwhile) await ingest.publishConfirmed(event);
        await witness.waitFor((messages) => messages.filter(isEvent).length >= first.length + meanwhile.length, 15_000);
        const resumed = await openSse(`${url}/ingest/monitor`, {
          ...headers,
          'last-event-id': snapshot.position ?? '',
        });
        clients.push(resumed);
        const later = sipEvents('b3', 'After.zip');
        for (const event of later) await ingest.publishConfirmed(event);
        const expected = meanwhile.length + later.length;
        await resumed.waitFor((messages) => messages.filter(isEvent).length >= expected, 15_000);
        assert.ok(!resumed.messages.some((m) => m.event === 'gap'), 'resumed without a gap');
        const received = eventsOf(resumed);
        assert.equal(received.length, expected);
        assert.deepEqual(fold(received, snapshot.state), fold([...first, ...meanwhile, ...later]));
      } finally {
        for (const client of clients) client.close();
        await gateway?.close();
        await ingest.close();
      }
    });
  }
});
