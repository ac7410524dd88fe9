/**
 * Type-level tests, checked by `npm run typecheck` (never executed): each
 * `@ts-expect-error` fails the build if the line below it compiles.
 */
import { publishIngestEvent, publishStorageEvent } from './publish-helpers.js';
import type {
  IngestEventType,
  IngestPayload,
  MonitorEvent,
  SIPStatus,
  SIPStatusUpdatedEvent,
  StorageMonitorEvent,
} from './schemas.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from './services.js';

const ingest = newIngestEventServiceInMem();
const storage = newStorageEventServiceInMem();
const sip = { uuid: 'u', status: 'queued', created_at: '2024-01-01T00:00:00Z' } as const;

// Valid calls compile.
publishIngestEvent(ingest, 'sip_created_event', { uuid: 'u', item: sip });
publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: 'u', status: 'ingested' });
publishIngestEvent(ingest, 'ingest_ping_event', {});
publishStorageEvent(storage, 'aip_location_updated_event', { uuid: 'a', location_uuid: 'l' });
publishStorageEvent(storage, 'location_created_event', {
  uuid: 'l',
  item: {
    uuid: 'l',
    name: 'n',
    source: 's3',
    purpose: 'aip_store',
    created_at: '2024-01-01T00:00:00Z',
    config: { type: 's3', value: { bucket: 'b', region: 'r' } },
  },
});

// A payload that does not match its type.
// @ts-expect-error sip_status_updated_event carries {uuid, status}, not an item
publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: 'u', item: sip });
// @ts-expect-error an AIP status is not a SIP status
publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: 'u', status: 'stored' });
// @ts-expect-error a required field is missing
publishIngestEvent(ingest, 'sip_created_event', { uuid: 'u' });
// @ts-expect-error an enum value outside the contract
publishStorageEvent(storage, 'aip_status_updated_event', { uuid: 'u', status: 'lost' });

// A storage type given to the ingest helper, and the reverse.
// @ts-expect-error aip_status_updated_event is a storage event
publishIngestEvent(ingest, 'aip_status_updated_event', { uuid: 'u', status: 'stored' });
// @ts-expect-error sip_status_updated_event is an ingest event
publishStorageEvent(storage, 'sip_status_updated_event', { uuid: 'u', status: 'queued' });

// A service of the other union.
// @ts-expect-error an ingest service given to the storage helper
publishStorageEvent(ingest, 'aip_status_updated_event', { uuid: 'u', status: 'stored' });
// @ts-expect-error a storage service given to the ingest helper
publishIngestEvent(storage, 'sip_status_updated_event', { uuid: 'u', status: 'queued' });

// A type known only as the union cannot be paired with an unchecked payload.
declare const someType: IngestEventType;
// @ts-expect-error the payload cannot be checked against a union of types
publishIngestEvent(ingest, someType, { uuid: 'u', status: 'queued' });

// The unions discriminate on `type`.
declare const event: MonitorEvent;
if (event.type === 'sip_status_updated_event') {
  const narrowed: SIPStatusUpdatedEvent = event;
  const status: SIPStatus = narrowed.value.status;
  void status;
  // @ts-expect-error "stored" is an AIP status, not a SIP status
  const wrong: SIPStatus = 'stored';
  void wrong;
}
// @ts-expect-error a storage event is not an ingest event
const wrongUnion: MonitorEvent = {} as StorageMonitorEvent;
void wrongUnion;
// @ts-expect-error payload types are exact: date-times are strings, not Dates
const dated: IngestPayload<'sip_created_event'> = { uuid: 'u', item: { ...sip, created_at: new Date() } };
void dated;
