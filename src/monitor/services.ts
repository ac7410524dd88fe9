import {
  createInMemoryEventService,
  type InMemoryEventServiceOptions,
} from '../backends/memory/memory-event-service.js';
import { createNopEventService } from '../backends/nop/nop-event-service.js';
import type { EventService, Subscription } from '../core/contract.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

/** A service carrying ingest monitor events. */
export type IngestEventService = EventService<MonitorEvent>;
/** A service carrying storage monitor events. */
export type StorageEventService = EventService<StorageMonitorEvent>;
/** A subscription to ingest monitor events. */
export type IngestSubscription = Subscription<MonitorEvent>;
/** A subscription to storage monitor events. */
export type StorageSubscription = Subscription<StorageMonitorEvent>;

/**
 * An in-process ingest event service (no I/O). Events are delivered as the
 * objects published, without encoding; publish through
 * {@link publishIngestEvent} to have them validated.
 *
 * @example
 * ```ts
 * const ingest = newIngestEventServiceInMem();
 * const sub = await ingest.subscribe();
 * publishIngestEvent(ingest, 'sip_status_updated_event', { uuid, status: 'ingested' });
 * ```
 */
export function newIngestEventServiceInMem(
  options: InMemoryEventServiceOptions<MonitorEvent> = {},
): IngestEventService {
  return createInMemoryEventService<MonitorEvent>({ name: 'ingest', eventType: (event) => event.type, ...options });
}

/** An in-process storage event service (no I/O); see {@link newIngestEventServiceInMem}. */
export function newStorageEventServiceInMem(
  options: InMemoryEventServiceOptions<StorageMonitorEvent> = {},
): StorageEventService {
  return createInMemoryEventService<StorageMonitorEvent>({
    name: 'storage',
    eventType: (event) => event.type,
    ...options,
  });
}

/**
 * An ingest service that discards every event; `subscribe` rejects with
 * `NopSubscribeError`. For tests of code that only publishes.
 */
export function nopIngestEventService(): IngestEventService {
  return createNopEventService<MonitorEvent>();
}

/** A storage service that discards every event; `subscribe` rejects with `NopSubscribeError`. */
export function nopStorageEventService(): StorageEventService {
  return createNopEventService<StorageMonitorEvent>();
}
