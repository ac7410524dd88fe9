import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { freshTopic, take, waitFor } from '../conformance/harness.js';
import { ConfigError } from '../errors.js';
import { keepTraceContexts, traceContextOf } from '../observability/event-trace.js';
import { ingestCodec, storageCodec } from './codec.js';
import { DEFAULT_INGEST_CHANNEL, DEFAULT_STORAGE_CHANNEL, newIngestEventServiceRedis } from './redis-services.js';
import { newIngestEventServiceRedisStream, newStorageEventServiceRedisStream } from './redis-stream-services.js';

const redis = await startRedisServer();
const fixtures = canonicalFixtures();

describe('monitor services on Redis Streams: the same wire text as pub/sub', () => {
  const raw = new Redis(redis.url);
  const rawSubscriber = new Redis(redis.url);
  after(async () => {
    raw.disconnect();
    rawSubscriber.disconnect();
    await redis.stop();
  });

  it("keys default to Enduro's channel names", async () => {
    const ingest = newIngestEventServiceRedisStream(undefined, undefined, { redisAddress: redis.url });
    const storage = newStorageEventServiceRedisStream(undefined, undefined, { redisAddress: redis.url });
    assert.equal(ingest.streamKey, DEFAULT_INGEST_CHANNEL);
    assert.equal(storage.streamKey, DEFAULT_STORAGE_CHANNEL);
    await Promise.all([ingest.close(), storage.close()]);
    assert.throws(
      () => newIngestEventServiceRedisStream(undefined, undefined, { redisAddress: 'redis://h:1/x' }),
      ConfigError,
    );
  });

  it('appends, as field `m`, exactly what the pub/sub service publishes, trace context included', async () => {
    const key = freshTopic();
    const telemetry = testTelemetry();
    const stream = newIngestEventServiceRedisStream(undefined, telemetry.tracerProvider, {
      redisAddress: redis.url,
      streamKey: key,
      spanPerPublish: true,
    });
    const pubsub = newIngestEventServiceRedis(undefined, telemetry.tracerProvider, {
      redisAddress: redis.url,
      redisChannel: key,
      spanPerPublish: true,
    });
    const published: string[] = [];
    rawSubscriber.on('message', (_channel: string, message: string) => published.push(message));
    await rawSubscriber.subscribe(key);
    const events = fixtures.filter((f) => f.union === 'ingest' && f.variant !== 'traced');
    for (const fixture of events) {
      const decoded = ingestCodec.decode(fixture.text);
      assert.ok(decoded.ok, fixture.file);
      await stream.publishConfirmed(decoded.event);
      await pubsub.publishConfirmed(decoded.event);
    }
    await waitFor('every pub/sub message', () => published.length === events.length);
    const appended = (await raw.xrange(key, '-', '+')).map(([, fields]) => fields);
    assert.equal(appended.length, events.length);
    for (const [i, fields] of appended.entries()) {
      assert.equal(fields.length, 2);
      assert.equal(fields[0], 'm');
      const text = fields[1] as string;
      const message = published[i] as string;
      const withoutTrace = (json: string): unknown => {
        const { traceparent, tracestate, ...rest } = JSON.parse(json) as Record<string, unknown>;
        return { rest, traced: typeof traceparent === 'string' };
      };
      assert.deepEqual(withoutTrace(text), withoutTrace(message), 'same text, apart from whose span it names');
      assert.match(text, /"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]"/);
    }
    await rawSubscriber.unsubscribe();
    await Promise.all([stream.close(), pubsub.close(), telemetry.shutdown()]);
  });

  it('decodes every fixture appended raw (as a bridge would), keeps trace contexts, skips garbage', async () => {
    const ingestKey = freshTopic();
    const storageKey = freshTopic();
    const ingest = newIngestEventServiceRedisStream(undefined, undefined, {
      redisAddress: redis.url,
      streamKey: ingestKey,
    });
    const storage = newStorageEventServiceRedisStream(undefined, undefined, {
      redisAddress: redis.url,
      streamKey: storageKey,
    });
    keepTraceContexts(); // as a gateway that forwards them does
    const ingestFixtures = fixtures.filter((f) => f.union === 'ingest');
    const storageFixtures = fixtures.filter((f) => f.union === 'storage');
    await raw.xadd(ingestKey, '*', 'm', '{"value":{"type":"sip_moved_to_mars_event","value":{}}}');
    await raw.xadd(ingestKey, '*', 'm', 'not json');
    for (const fixture of ingestFixtures) await raw.xadd(ingestKey, '*', 'm', fixture.text);
    for (const fixture of storageFixtures) await raw.xadd(storageKey, '*', 'm', fixture.text);

    const ingestSub = await ingest.subscribe({ from: 'oldest', bufferSize: 1_000 });
    const storageSub = await storage.subscribe({ from: 'oldest', bufferSize: 1_000 });
    const gotIngest = await take(ingestSub, ingestFixtures.length);
    const gotStorage = await take(storageSub, storageFixtures.length);
    assert.deepEqual(
      gotIngest.map((event) => ingestCodec.encode(event, traceContextOf(event))),
      ingestFixtures.map((f) => f.text),
      'byte-identical again, trace fields included',
    );
    assert.deepEqual(
      gotStorage.map((event) => storageCodec.encode(event, traceContextOf(event))),
      storageFixtures.map((f) => f.text),
    );
    assert.equal(ingest.stats.invalid['not-json'], 1);
    assert.equal(ingest.stats.invalid['unknown-type'], 1);
    await Promise.all([ingest.close(), storage.close()]);
  });
});
