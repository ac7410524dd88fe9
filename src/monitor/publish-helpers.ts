import type { EventService } from '../core/contract.js';
import { type Catalogue, ingestCatalogue, storageCatalogue } from './catalogue.js';
import type {
  IngestEventType,
  IngestPayload,
  MonitorEvent,
  StorageEventType,
  StorageMonitorEvent,
  StoragePayload,
} from './schemas.js';
import type { IngestEventService, StorageEventService } from './services.js';

/** `true` when `T` is a union of several types. */
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * The payload parameter of a helper: the payload of `K`, or `never` when `K`
 * is a union of types (then no payload could be checked against its type).
 */
type PayloadParam<K, P> = true extends IsUnion<K> ? never : P;

function prepare<E extends { type: string; value: unknown }>(
  catalogue: Catalogue<E>,
  svc: EventService<E>,
  type: string,
  payload: unknown,
): E {
  if (typeof svc !== 'object' || svc === null || typeof svc.publish !== 'function') {
    throw new TypeError(`svc: expected a ${catalogue.name} event service, got ${svc === null ? 'null' : typeof svc}`);
  }
  const member = typeof type === 'string' ? catalogue.member(type) : undefined;
  if (member === undefined) {
    throw new TypeError(`type: unknown ${catalogue.name} event type ${JSON.stringify(String(type))}`);
  }
  const error = catalogue.invalidPayload(type, payload, member);
  if (error) throw error;
  return catalogue.event(type, member.canonicalize(payload));
}

/**
 * Validates and publishes an ingest event, fire-and-forget (as
 * `svc.publish`). The payload is checked against the type's schema and only
 * its catalogued fields are published. A payload that does not match `type`,
 * or a storage type, does not compile.
 *
 * @example
 * ```ts
 * publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: sip.uuid, status: 'ingested' });
 * ```
 * @throws {TypeError} when `type` is not an ingest event type (naming it) or `svc` is not a service
 *   (reachable from untyped JavaScript only).
 * @throws {DecodeError} with reason `invalid-payload` and the JSON pointer of the first violation
 *   (e.g. `/value/value/item/status`) when the payload is invalid; nothing is published then.
 */
export function publishIngestEvent<K extends IngestEventType>(
  svc: IngestEventService,
  type: K,
  payload: PayloadParam<K, IngestPayload<K>>,
): void {
  const event = prepare<MonitorEvent>(ingestCatalogue, svc, type, payload);
  svc.publish(event);
}

/**
 * Like {@link publishIngestEvent}, but resolves once the backend accepted the
 * event (`svc.publishConfirmed`), with the number of receivers it reported.
 * @throws nothing synchronously: rejects with the `TypeError` or `DecodeError`
 *   that {@link publishIngestEvent} would throw, or with the backend's error.
 */
export async function publishIngestEventConfirmed<K extends IngestEventType>(
  svc: IngestEventService,
  type: K,
  payload: PayloadParam<K, IngestPayload<K>>,
): Promise<number> {
  const event = prepare<MonitorEvent>(ingestCatalogue, svc, type, payload);
  return svc.publishConfirmed(event);
}

/**
 * Validates and publishes a storage event, fire-and-forget. A payload that
 * does not match `type`, an ingest type, or an ingest service does not compile.
 *
 * @example
 * ```ts
 * publishStorageEvent(storage, 'aip_location_updated_event', { uuid: aip.uuid, location_uuid });
 * ```
 * @throws {TypeError} when `type` is not a storage event type (naming it) or `svc` is not a service.
 * @throws {DecodeError} with reason `invalid-payload` when the payload is invalid; nothing is published then.
 */
export function publishStorageEvent<K extends StorageEventType>(
  svc: StorageEventService,
  type: K,
  payload: PayloadParam<K, StoragePayload<K>>,
): void {
  const event = prepare<StorageMonitorEvent>(storageCatalogue, svc, type, payload);
  svc.publish(event);
}

/**
 * Like {@link publishStorageEvent}, but resolves once the backend accepted the
 * event, with the number of receivers it reported; rejects instead of throwing.
 */
export async function publishStorageEventConfirmed<K extends StorageEventType>(
  svc: StorageEventService,
  type: K,
  payload: PayloadParam<K, StoragePayload<K>>,
): Promise<number> {
  const event = prepare<StorageMonitorEvent>(storageCatalogue, svc, type, payload);
  return svc.publishConfirmed(event);
}
