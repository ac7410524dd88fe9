import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { freshTopic, take, waitFor } from '../conformance/harness.js';
import { ConfigError } from '../errors.js';
import { ingestCodec, storageCodec } from './codec.js';
import {
  DEFAULT_INGEST_CHANNEL,
  DEFAULT_STORAGE_CHANNEL,
  newIngestEventServiceRedis,
  newStorageEventServiceRedis,
} from './redis-services.js';

const redis = await startRedisServer();
const fixtures = canonicalFixtures();

describe('monitor services over Redis: interop with the wire format', () => {
  const raw = new Redis(redis.url);
  const rawSubscriber = new Redis(redis.url);
  after(async () => {
    raw.disconnect();
    rawSubscriber.disconnect();
    await redis.stop();
  });

  it("defaults to Enduro's channels", async () => {
    const ingest = newIngestEventServiceRedis(undefined, undefined, { redisAddress: redis.url });
    const storage = newStorageEventServiceRedis(undefined, undefined, { redisAddress: redis.url });
    assert.equal(ingest.channel, DEFAULT_INGEST_CHANNEL);
    assert.equal(storage.channel, DEFAULT_STORAGE_CHANNEL);
    assert.equal(DEFAULT_INGEST_CHANNEL, 'enduro-ingest-events');
    assert.equal(DEFAULT_STORAGE_CHANNEL, 'enduro-storage-events');
    await Promise.all([ingest.close(), storage.close()]);
  });

  it('fails at construction on a malformed address', () => {
    assert.throws(
      () => newIngestEventServiceRedis(undefined, undefined, { redisAddress: 'redis://h:1/x' }),
      ConfigError,
    );
  });

  it('publishes byte-identical wire JSON for every fixture', async () => {
    const { channels, ingest, storage } = servicesOnFreshChannels();
    const seen: string[] = [];
    rawSubscriber.on('message', (_channel: string, message: string) => seen.push(message));
    await rawSubscriber.subscribe(channels.ingest, channels.storage);
    const expected: string[] = [];
    for (const fixture of fixtures.filter((f) => f.variant !== 'traced')) {
      if (fixture.union === 'ingest') {
        const decoded = ingestCodec.decode(fixture.text);
        assert.ok(decoded.ok, fixture.file);
        await ingest.publishConfirmed(decoded.event);
      } else {
        const decoded = storageCodec.decode(fixture.text);
        assert.ok(decoded.ok, fixture.file);
        await storage.publishConfirmed(decoded.event);
      }
      expected.push(fixture.text);
    }
    await waitForLength(seen, expected.length);
    assert.deepEqual(seen, expected);
    await rawSubscriber.unsubscribe();
    await Promise.all([ingest.close(), storage.close()]);
  });

  it('decodes every fixture published raw, as a Go service would, and skips garbage and unknown types', async () => {
    const { channels, ingest, storage } = servicesOnFreshChannels();
    const ingestSub = await ingest.subscribe({ bufferSize: 1_000 });
    const storageSub = await storage.subscribe({ bufferSize: 1_000 });
    const ingestFixtures = fixtures.filter((f) => f.union === 'ingest');
    const storageFixtures = fixtures.filter((f) => f.union === 'storage');

    await raw.publish(channels.ingest, '{"value":{"type":"sip_moved_to_mars_event","value":{}}}');
    await raw.publish(channels.ingest, '{"value":{"type":"sip_status_updated_event","value":{"uuid":1}}}');
    await raw.publish(channels.ingest, 'not json');
    for (const fixture of ingestFixtures) await raw.publish(channels.ingest, fixture.text);
    for (const fixture of storageFixtures) await raw.publish(channels.storage, fixture.text);

    const gotIngest = await take(ingestSub, ingestFixtures.length);
    const gotStorage = await take(storageSub, storageFixtures.length);
    assert.deepEqual(
      gotIngest.map((event) => ingestCodec.encode(event)),
      ingestFixtures.map((f) => stripTrace(f.text)),
    );
    assert.deepEqual(
      gotStorage.map((event) => storageCodec.encode(event)),
      storageFixtures.map((f) => stripTrace(f.text)),
    );
    assert.deepEqual(ingest.stats.invalid, {
      'not-json': 1,
      'no-envelope': 0,
      'unknown-type': 1,
      'invalid-payload': 1,
    });
    await Promise.all([ingest.close(), storage.close()]);
  });
});

/** An ingest and a storage service, each on a channel of its own. */
function servicesOnFreshChannels() {
  const channels = { ingest: freshTopic(), storage: freshTopic() };
  const ingest = newIngestEventServiceRedis(undefined, undefined, {
    redisAddress: redis.url,
    redisChannel: channels.ingest,
  });
  const storage = newStorageEventServiceRedis(undefined, undefined, {
    redisAddress: redis.url,
    redisChannel: channels.storage,
  });
  return { channels, ingest, storage };
}

/** A traced fixture decodes to the same event; its trace fields are not part of the event. */
function stripTrace(text: string): string {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return JSON.stringify({ value: parsed.value });
}

function waitForLength(list: unknown[], length: number): Promise<void> {
  return waitFor(`${length} messages`, () => list.length >= length);
}
