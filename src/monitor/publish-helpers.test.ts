import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { DecodeError, NopSubscribeError } from '../errors.js';
import {
  publishIngestEvent,
  publishIngestEventConfirmed,
  publishStorageEvent,
  publishStorageEventConfirmed,
} from './publish-helpers.js';
import { INGEST_EVENT_TYPES, type MonitorEvent, STORAGE_EVENT_TYPES, type StorageMonitorEvent } from './schemas.js';
import {
  newIngestEventServiceInMem,
  newStorageEventServiceInMem,
  nopIngestEventService,
  nopStorageEventService,
} from './services.js';

const fixtures = canonicalFixtures().filter((f) => f.variant !== 'traced');
const payloadOf = (text: string): unknown => JSON.parse(text).value.value;

// Untyped JavaScript calling the helpers: the type system cannot stop it.
const untypedIngest = publishIngestEvent as unknown as (svc: unknown, type: unknown, payload: unknown) => void;

describe('in-memory delivery through the helpers', () => {
  test('every ingest event type, as published, in order', async () => {
    const svc = newIngestEventServiceInMem();
    const sub = await svc.subscribe({ bufferSize: 1024 });
    const sent = fixtures.filter((f) => f.union === 'ingest');
    for (const f of sent) publishIngestEvent(svc, f.type as 'ingest_ping_event', payloadOf(f.text) as never);
    for (const f of sent) {
      const { value, done } = await sub.next();
      assert.equal(done, false);
      assert.deepEqual(value, { type: f.type, value: payloadOf(f.text) } as MonitorEvent);
    }
    assert.deepEqual(new Set(sent.map((f) => f.type)), new Set(INGEST_EVENT_TYPES));
    await svc.close();
  });

  test('every storage event type, as published, in order', async () => {
    const svc = newStorageEventServiceInMem();
    const sub = await svc.subscribe({ bufferSize: 1024 });
    const sent = fixtures.filter((f) => f.union === 'storage');
    for (const f of sent) publishStorageEvent(svc, f.type as 'storage_ping_event', payloadOf(f.text) as never);
    for (const f of sent) {
      const { value } = await sub.next();
      assert.deepEqual(value, { type: f.type, value: payloadOf(f.text) } as StorageMonitorEvent);
    }
    assert.deepEqual(new Set(sent.map((f) => f.type)), new Set(STORAGE_EVENT_TYPES));
    await svc.close();
  });

  test('the confirmed variants resolve with the number of receivers', async () => {
    const ingest = newIngestEventServiceInMem();
    const storage = newStorageEventServiceInMem();
    await ingest.subscribe();
    await ingest.subscribe();
    assert.equal(
      await publishIngestEventConfirmed(ingest, 'sip_status_updated_event', { uuid: 'u', status: 'ingested' }),
      2,
    );
    assert.equal(
      await publishStorageEventConfirmed(storage, 'aip_status_updated_event', { uuid: 'u', status: 'stored' }),
      0,
    );
    await ingest.close();
    await storage.close();
  });

  test('only catalogued fields are published', async () => {
    const svc = newIngestEventServiceInMem();
    const sub = await svc.subscribe();
    const payload = { uuid: 'u', status: 'queued', internal: 'not for the wire' } as { uuid: string; status: 'queued' };
    publishIngestEvent(svc, 'sip_status_updated_event', payload);
    assert.deepEqual((await sub.next()).value, {
      type: 'sip_status_updated_event',
      value: { uuid: 'u', status: 'queued' },
    });
    await svc.close();
  });
});

describe('misuse from untyped JavaScript', () => {
  test('an unknown type throws a TypeError naming it, and nothing is published', async () => {
    const svc = newIngestEventServiceInMem();
    const sub = await svc.subscribe();
    for (const type of ['sip_deleted_event', 'aip_created_event', '__proto__', 42]) {
      assert.throws(() => untypedIngest(svc, type, {}), { name: 'TypeError', message: new RegExp(String(type)) });
    }
    assert.throws(
      () =>
        (publishStorageEvent as unknown as (s: unknown, t: string, p: unknown) => void)(svc, 'sip_created_event', {}),
      { name: 'TypeError', message: /unknown storage event type "sip_created_event"/ },
    );
    assert.equal(sub.pending, 0);
    await svc.close();
  });

  test('an invalid payload throws the codec DecodeError with its path, and nothing is published', async () => {
    const svc = newIngestEventServiceInMem();
    const sub = await svc.subscribe();
    assert.throws(
      () => untypedIngest(svc, 'sip_status_updated_event', { uuid: 'u', status: 'lost' }),
      (e: unknown) =>
        e instanceof DecodeError &&
        e.reason === 'invalid-payload' &&
        e.path === '/value/value/status' &&
        e.eventType === 'sip_status_updated_event',
    );
    assert.throws(() => untypedIngest(svc, 'sip_created_event', undefined), DecodeError);
    assert.equal(sub.pending, 0);
    await svc.close();
  });

  test('the confirmed variant rejects instead of throwing', async () => {
    const svc = newStorageEventServiceInMem();
    const confirmed = publishStorageEventConfirmed as unknown as (
      s: unknown,
      t: unknown,
      p: unknown,
    ) => Promise<number>;
    let promise: Promise<number> | undefined;
    assert.doesNotThrow(() => {
      promise = confirmed(svc, 'aip_status_updated_event', { uuid: 'u' });
    });
    await assert.rejects(promise!, { reason: 'invalid-payload', path: '/value/value/status' });
    await assert.rejects(confirmed(svc, 'nope', {}), TypeError);
    await svc.close();
  });

  test('a service that is not one throws a TypeError naming the parameter', () => {
    assert.throws(() => untypedIngest(undefined, 'ingest_ping_event', {}), { name: 'TypeError', message: /^svc:/ });
  });
});

describe('nop services', () => {
  test('accept publishes and reject subscriptions', async () => {
    const ingest = nopIngestEventService();
    const storage = nopStorageEventService();
    publishIngestEvent(ingest, 'ingest_ping_event', { message: 'ping' });
    publishStorageEvent(storage, 'storage_ping_event', {});
    await assert.rejects(ingest.subscribe(), NopSubscribeError);
    await assert.rejects(storage.subscribe(), NopSubscribeError);
  });
});
