/**
 * One event of every type of both monitor streams, from the wire fixtures,
 * with the type lists written out by hand from Enduro's reference table, for
 * the gateway's per-event access tests.
 */

import { ingestCodec, storageCodec } from '../../src/monitor/codec.js';
import type { MonitorEvent, StorageMonitorEvent } from '../../src/monitor/schemas.js';
import type { IngestEventService, StorageEventService } from '../../src/monitor/services.js';
import { canonicalFixtures } from '../fixtures/load.js';
import type { SseTestClient } from './sse-client.js';

const fixtures = canonicalFixtures().filter((f) => f.variant === 'minimal');

/** One ingest event of every type, pings included. */
export const INGEST_EVENTS: readonly MonitorEvent[] = fixtures.flatMap((f) => {
  const decoded = f.union === 'ingest' ? ingestCodec.decode(f.text) : undefined;
  return decoded?.ok ? [decoded.event as MonitorEvent] : [];
});

/** One storage event of every type, pings included. */
export const STORAGE_EVENTS: readonly StorageMonitorEvent[] = fixtures.flatMap((f) => {
  const decoded = f.union === 'storage' ? storageCodec.decode(f.text) : undefined;
  return decoded?.ok ? [decoded.event as StorageMonitorEvent] : [];
});

/** The message of the ping that marks the end of what a test published. */
export const END = 'end-of-test-events';

/** Every ingest event type, as Enduro sends them to a user holding `*`. */
export const INGEST_ALL: readonly string[] = [
  'ingest_ping_event',
  'sip_created_event',
  'sip_updated_event',
  'sip_status_updated_event',
  'sip_workflow_created_event',
  'sip_workflow_updated_event',
  'sip_task_created_event',
  'sip_task_updated_event',
  'batch_created_event',
  'batch_updated_event',
];

/** Every storage event type, as Enduro sends them to a user holding `*`. */
export const STORAGE_ALL: readonly string[] = [
  'storage_ping_event',
  'location_created_event',
  'location_updated_event',
  'aip_created_event',
  'aip_updated_event',
  'aip_status_updated_event',
  'aip_location_updated_event',
  'aip_workflow_created_event',
  'aip_workflow_updated_event',
  'aip_task_created_event',
  'aip_task_updated_event',
];

/** The event types `client` received, without the Hello ping and the end marker. */
export const typesOf = (client: SseTestClient): string[] =>
  client.messages
    .slice(1) // the Hello ping
    .map((m) => JSON.parse(m.data) as { value: { type: string; value: { message?: string } } })
    .filter((m) => m.value.value.message !== END)
    .map((m) => m.value.type);

/** Publishes every event of both streams, then a ping marking the end (pings reach everyone). */
export function publishAll(ingest: IngestEventService, storage: StorageEventService): void {
  for (const event of INGEST_EVENTS) ingest.publish(event);
  for (const event of STORAGE_EVENTS) storage.publish(event);
  ingest.publish({ type: 'ingest_ping_event', value: { message: END } });
  storage.publish({ type: 'storage_ping_event', value: { message: END } });
}
