// Health that tells the truth, over a real redis-server this file starts, stops
// and restarts: /healthz is liveness, /readyz says whether the backends are
// subscribed, and connected clients hear when the backend is lost and when it
// is back, with the gap, at that moment.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { openSse, type ReceivedMessage } from '../../test/support/sse-client.js';
import { freshTopic, waitFor } from '../conformance/harness.js';
import type { BackendState, EventService } from '../core/contract.js';
import { publishIngestEvent } from '../monitor/publish-helpers.js';
import { newIngestEventServiceRedis, newStorageEventServiceRedis } from '../monitor/redis-services.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';

const TOKEN = 'health-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const HELLO = 'Hello';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Ingest and storage over one private redis-server, and a gateway in front (no ping for ten minutes). */
async function redisGateway(redis: RedisServer) {
  const config = { redisAddress: redis.url, heartbeatMs: 0 };
  const ingest = newIngestEventServiceRedis(undefined, undefined, { ...config, redisChannel: freshTopic() });
  const storage = newStorageEventServiceRedis(undefined, undefined, { ...config, redisChannel: freshTopic() });
  const gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }], pingIntervalMs: 600_000 });
  const url = await gateway.listen();
  cleanups.push(async () => {
    await gateway.close();
    await Promise.all([ingest.close(), storage.close()]);
  });
  return { ingest, storage, gateway, url };
}

async function server(): Promise<RedisServer> {
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());
  return redis;
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function waitForStates(services: EventService<object>[], state: BackendState): Promise<void> {
  return waitFor(
    () => `every backend ${state}: ${services.map((service) => JSON.stringify(service.status)).join(', ')}`,
    () => services.every((service) => service.status?.state === state),
    15_000,
  );
}

/** Messages after the hello: what the outage itself produced. */
const afterHello = (messages: readonly ReceivedMessage[]) =>
  messages.filter((m) => !m.data.includes(`"message":"${HELLO}"`)).map((m) => ({ event: m.event, data: m.data }));

describe('gateway health', () => {
  it('/healthz stays 200 while Redis is down; /readyz is 503 with the reason, and 200 once resubscribed', async () => {
    const redis = await server();
    const { ingest, storage, url } = await redisGateway(redis);
    // No client connected: the gateway subscribes from startup, so it can tell.
    await waitForStates([ingest, storage], 'ready');
    const ready = await get(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, {
      status: 'ready',
      backends: { ingest: { state: 'ready' }, storage: { state: 'ready' } },
    });

    await redis.stop();
    await waitForStates([ingest, storage], 'down');
    const health = await get(`${url}/healthz`);
    assert.equal(health.status, 200, 'the process is alive: restarting it would not bring Redis back');
    assert.equal(health.body.status, 'ok');
    const down = await get(`${url}/readyz`);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'unavailable');
    assert.match(String(down.body.reason), /ingest down: Redis .*; storage down: Redis /);
    assert.doesNotMatch(String(down.body.reason), new RegExp(String(redis.port)), 'no address in the reason');

    // A client arriving now is told at once, not after the subscribe timeout.
    const refused = await fetch(`${url}/ingest/monitor`, { headers: auth });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match(((await refused.json()) as { error: string }).error, /^event service unavailable: Redis /);

    await redis.restart();
    await waitForStates([ingest, storage], 'ready');
    assert.equal((await get(`${url}/readyz`)).status, 200);
  });

  it('/readyz is 503 before the backend has subscribed, even with no client', async () => {
    const redis = await server();
    redis.pause(); // accepts connections and answers nothing: never subscribed
    const { ingest, url } = await redisGateway(redis);
    const before = await get(`${url}/readyz`);
    assert.equal(before.status, 503);
    assert.match(String(before.body.reason), /ingest connecting: subscribing/);
    redis.resume();
    await waitForStates([ingest], 'ready');
    assert.equal((await get(`${url}/readyz`)).status, 200);
  });

  it('/readyz is 200 over in-memory services and 503 once they are closed', async () => {
    const ingest = newIngestEventServiceInMem();
    const storage = newStorageEventServiceInMem();
    const gateway: Gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }] });
    const url = await gateway.listen();
    cleanups.push(() => gateway.close());
    assert.equal((await get(`${url}/readyz`)).status, 200);
    await Promise.all([ingest.close(), storage.close()]);
    const closed = await get(`${url}/readyz`);
    assert.equal(closed.status, 503);
    assert.match(String(closed.body.reason), /ingest closed; storage closed/);
  });

  it('tells connected clients when Redis is lost and when it is back, with the gap at that moment', async () => {
    const redis = await server();
    const { ingest, url } = await redisGateway(redis);
    // Each stream answers once its subscription is live.
    const clients = await Promise.all([
      openSse(`${url}/ingest/monitor`, auth),
      openSse(`${url}/storage/monitor`, auth),
    ]);
    cleanups.push(async () => {
      for (const client of clients) client.close();
    });
    for (const client of clients) await client.waitFor((m) => m.length === 1);

    await redis.stop();
    const lost = (m: readonly ReceivedMessage[]) => afterHello(m).length >= 1;
    for (const client of clients) await client.waitFor(lost, 15_000);
    for (const client of clients) {
      const [news] = afterHello(client.messages);
      assert.equal(news?.event, 'backend');
      assert.equal(JSON.parse(news?.data ?? '').state, 'lost');
    }

    // Nothing is published and no ping is due: only the backend coming back can make these.
    await redis.restart();
    for (const client of clients) await client.waitFor((m) => afterHello(m).length >= 3, 15_000);
    for (const client of clients) {
      assert.deepEqual(afterHello(client.messages).slice(1), [
        { event: 'backend', data: '{"state":"restored"}' },
        { event: 'gap', data: '{"reason":"reconnect","dropped":0}' },
      ]);
    }

    // And events flow again, after the gap.
    publishIngestEvent(ingest, 'sip_status_updated_event', {
      uuid: '7b4ad6d6-3bd9-4b13-a6a6-2d3c9a5e4f10',
      status: 'ingested',
    });
    const [ingestClient] = clients;
    await ingestClient?.waitFor((m) => afterHello(m).length >= 4, 15_000);
    assert.match(afterHello(ingestClient?.messages ?? [])[3]?.data ?? '', /sip_status_updated_event/);
  });
});
