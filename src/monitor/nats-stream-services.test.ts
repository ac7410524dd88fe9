import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import { freshTopic, take } from '../conformance/harness.js';
import { ingestCodec, storageCodec } from './codec.js';
import { DEFAULT_INGEST_SUBJECT, DEFAULT_STORAGE_SUBJECT } from './nats-services.js';
import { newIngestEventServiceNatsStream, newStorageEventServiceNatsStream } from './nats-stream-services.js';

const nats = await startNatsServer({ jetstream: true });
const fixtures = canonicalFixtures();
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc?.close();
  await nats.close();
});

/** The text of every message the stream holds, in order. */
async function storedTexts(stream: string): Promise<string[]> {
  const { state } = await jsm.streams.info(stream);
  const texts: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    texts.push((await jsm.streams.getMessage(stream, { seq }))?.string() ?? '');
  }
  return texts;
}

describe('monitor services on JetStream: the Redis wire format, stored', () => {
  it("defaults to Enduro's subjects, each in a stream of its own", async () => {
    const ingest = newIngestEventServiceNatsStream(undefined, undefined, { natsAddress: nats.url });
    const storage = newStorageEventServiceNatsStream(undefined, undefined, { natsAddress: nats.url });
    assert.equal(ingest.subject, DEFAULT_INGEST_SUBJECT);
    assert.equal(storage.subject, DEFAULT_STORAGE_SUBJECT);
    assert.equal(ingest.subject, 'enduro.ingest.events');
    assert.equal(storage.subject, 'enduro.storage.events');
    assert.equal(ingest.stream, 'enduro_ingest_events');
    assert.equal(storage.stream, 'enduro_storage_events');
    await Promise.all([ingest.close(), storage.close()]);
  });

  it('stores byte-identical wire JSON for every fixture (what Redis pub/sub would carry)', async () => {
    const { ingest, storage } = servicesOnFreshSubjects();
    try {
      const expected = { ingest: [] as string[], storage: [] as string[] };
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
        expected[fixture.union].push(fixture.text);
      }
      assert.deepEqual(await storedTexts(ingest.stream), expected.ingest);
      assert.deepEqual(await storedTexts(storage.stream), expected.storage);
    } finally {
      await Promise.all([ingest.close(), storage.close()]);
    }
  });

  it('decodes every fixture published raw, as a Go service would, and skips garbage and unknown types', async () => {
    const { ingest, storage } = servicesOnFreshSubjects();
    try {
      const ingestSub = await ingest.subscribe({ bufferSize: 1_000 });
      const storageSub = await storage.subscribe({ bufferSize: 1_000 });
      const ingestFixtures = fixtures.filter((f) => f.union === 'ingest');
      const storageFixtures = fixtures.filter((f) => f.union === 'storage');
      await js.publish(ingest.subject, '{"value":{"type":"sip_moved_to_mars_event","value":{}}}');
      await js.publish(ingest.subject, 'not json');
      for (const fixture of ingestFixtures) await js.publish(ingest.subject, fixture.text);
      for (const fixture of storageFixtures) await js.publish(storage.subject, fixture.text);
      const gotIngest = await take(ingestSub, ingestFixtures.length);
      const gotStorage = await take(storageSub, storageFixtures.length);
      assert.deepEqual(
        gotIngest.map((event) => ingestCodec.encode(event)),
        ingestFixtures.map((f) => withoutTrace(f.text)),
      );
      assert.deepEqual(
        gotStorage.map((event) => storageCodec.encode(event)),
        storageFixtures.map((f) => withoutTrace(f.text)),
      );
      assert.equal(ingest.stats.invalid['not-json'], 1);
      assert.equal(ingest.stats.invalid['unknown-type'], 1);
    } finally {
      await Promise.all([ingest.close(), storage.close()]);
    }
  });
});

function servicesOnFreshSubjects() {
  const ingest = newIngestEventServiceNatsStream(undefined, undefined, {
    natsAddress: nats.url,
    subject: freshTopic(),
  });
  const storage = newStorageEventServiceNatsStream(undefined, undefined, {
    natsAddress: nats.url,
    subject: freshTopic(),
  });
  return { ingest, storage };
}

/** A traced fixture decodes to the same event; its trace fields are not part of the event. */
function withoutTrace(text: string): string {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return JSON.stringify({ value: parsed.value });
}
