/**
 * The NATS monitor services speak the Redis wire: for every fixture, the
 * payload a NATS service publishes is byte for byte what the Redis service
 * publishes for the same event, and what arrives on the subject from another
 * client (Enduro's fixtures as raw bytes, or garbage) is decoded, or skipped
 * and counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { freshTopic, take, waitFor } from '../conformance/harness.js';
import { ConfigError } from '../errors.js';
import { ingestCodec, storageCodec } from './codec.js';
import {
  DEFAULT_INGEST_SUBJECT,
  DEFAULT_STORAGE_SUBJECT,
  newIngestEventServiceNats,
  newStorageEventServiceNats,
} from './nats-services.js';
import { newIngestEventServiceRedis, newStorageEventServiceRedis } from './redis-services.js';

const fixtures = canonicalFixtures().filter((f) => f.variant !== 'traced');

describe('monitor services over NATS: the Redis wire, byte for byte', { timeout: 60_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let raw: NatsConnection | undefined;

  before(async () => {
    [nats, redis] = await Promise.all([startNatsServer({ jetstream: false }), startRedisServer()]);
    raw = await connect({ servers: nats.url });
  });

  after(async () => {
    await raw?.close();
    await Promise.allSettled([nats?.close(), redis?.stop()]);
  });

  it("defaults to Enduro's NATS subjects, and refuses a wildcard subject or a malformed address", async () => {
    assert.ok(nats);
    const ingest = newIngestEventServiceNats(undefined, undefined, { natsAddress: nats.url });
    const storage = newStorageEventServiceNats(undefined, undefined, { natsAddress: nats.url });
    assert.equal(ingest.subject, DEFAULT_INGEST_SUBJECT);
    assert.equal(storage.subject, DEFAULT_STORAGE_SUBJECT);
    assert.equal(DEFAULT_INGEST_SUBJECT, 'enduro.ingest.events');
    assert.equal(DEFAULT_STORAGE_SUBJECT, 'enduro.storage.events');
    await Promise.all([ingest.close(), storage.close()]);
    for (const subject of ['enduro.*', 'enduro.>', 'a..b', 'a b', '.a', '']) {
      assert.throws(() => newIngestEventServiceNats(undefined, undefined, { natsAddress: nats?.url ?? '', subject }), {
        name: 'ConfigError',
      });
    }
    for (const natsAddress of ['redis://127.0.0.1:4222', 'not a url', 'nats://127.0.0.1:4222/path', '']) {
      assert.throws(() => newIngestEventServiceNats(undefined, undefined, { natsAddress }), ConfigError);
    }
    assert.throws(
      () => newIngestEventServiceNats(undefined, undefined, { natsAddress: 'http://user:secret@h:1' }),
      (error: Error) => error instanceof ConfigError && !error.message.includes('secret'),
    );
  });

  it('publishes, for every fixture, the payload the Redis service publishes', async () => {
    assert.ok(nats && redis && raw);
    const redisChannel = freshTopic();
    const subject = freshTopic();
    const rawRedis = new Redis(redis.url);
    const redisSeen: string[] = [];
    const natsSeen: Uint8Array[] = [];
    rawRedis.on('messageBuffer', (_channel: Buffer, message: Buffer) => redisSeen.push(message.toString('utf8')));
    await rawRedis.subscribe(redisChannel);
    const natsSub = raw.subscribe(subject, {
      callback: (_error, msg) => {
        natsSeen.push(msg.data);
      },
    });
    await raw.flush();
    const viaRedis = {
      ingest: newIngestEventServiceRedis(undefined, undefined, { redisAddress: redis.url, redisChannel }),
      storage: newStorageEventServiceRedis(undefined, undefined, { redisAddress: redis.url, redisChannel }),
    };
    const viaNats = {
      ingest: newIngestEventServiceNats(undefined, undefined, { natsAddress: nats.url, subject }),
      storage: newStorageEventServiceNats(undefined, undefined, { natsAddress: nats.url, subject }),
    };
    try {
      for (const fixture of fixtures) {
        if (fixture.union === 'ingest') {
          const decoded = ingestCodec.decode(fixture.text);
          assert.ok(decoded.ok, fixture.file);
          await viaRedis.ingest.publishConfirmed(decoded.event);
          await viaNats.ingest.publishConfirmed(decoded.event);
        } else {
          const decoded = storageCodec.decode(fixture.text);
          assert.ok(decoded.ok, fixture.file);
          await viaRedis.storage.publishConfirmed(decoded.event);
          await viaNats.storage.publishConfirmed(decoded.event);
        }
      }
      await waitFor(
        () => `${fixtures.length} messages on each wire, have ${redisSeen.length} (Redis), ${natsSeen.length} (NATS)`,
        () => redisSeen.length === fixtures.length && natsSeen.length === fixtures.length,
      );
      assert.ok(fixtures.length > 20, 'every fixture type is compared');
      for (let i = 0; i < fixtures.length; i++) {
        assert.equal(
          Buffer.from(natsSeen[i] as Uint8Array).toString('hex'),
          Buffer.from(redisSeen[i] as string, 'utf8').toString('hex'),
          fixtures[i]?.file,
        );
      }
    } finally {
      natsSub.unsubscribe();
      rawRedis.disconnect();
      await Promise.all([...Object.values(viaRedis), ...Object.values(viaNats)].map((s) => s.close()));
    }
  });

  it("decodes Enduro's wire bytes sent by another client, and skips and counts garbage", async () => {
    assert.ok(nats && raw);
    const subject = freshTopic();
    const ingest = newIngestEventServiceNats(undefined, undefined, { natsAddress: nats.url, subject });
    try {
      const sub = await ingest.subscribe({ bufferSize: 1_000 });
      const ingestFixtures = fixtures.filter((f) => f.union === 'ingest');
      raw.publish(subject, 'not json at all');
      raw.publish(subject, '{"type":"no_such_event","value":{}}');
      raw.publish(subject, new Uint8Array([0xff, 0xfe, 0x00]));
      for (const fixture of ingestFixtures) raw.publish(subject, fixture.text);
      const got = await take(sub, ingestFixtures.length);
      assert.deepEqual(
        got,
        ingestFixtures.map((f) => {
          const decoded = ingestCodec.decode(f.text);
          assert.ok(decoded.ok);
          return decoded.event;
        }),
      );
      const invalid = ingest.stats.invalid;
      assert.equal(invalid['not-json'], 2, JSON.stringify(invalid));
      assert.equal(
        Object.values(invalid).reduce((a, b) => a + b, 0),
        3,
        JSON.stringify(invalid),
      );
      await sub.close();
    } finally {
      await ingest.close();
    }
  });
});
