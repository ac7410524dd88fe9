/**
 * Which monitor events a principal receives: Enduro's table as data, and the
 * per-client decision built from it, which checks attributes once per event
 * type and then only looks the answer up.
 */
import type { IngestEventType, StorageEventType } from '../monitor/schemas.js';
import { checkAttributes } from './attributes.js';

/**
 * What an event type requires: `'always'` (pings), or alternatives, any one of
 * which suffices; each alternative is a list of attributes all required.
 */
export type EventRequirement = 'always' | readonly (readonly string[])[];

/** Event type to requirement. A type missing from the table is never sent to a principal with attributes. */
export type EventAccessTable = Readonly<Record<string, EventRequirement>>;

const anyOf = (...attributes: string[]): readonly (readonly string[])[] => attributes.map((attribute) => [attribute]);

/**
 * Enduro's requirements for every ingest and storage monitor event
 * (`internal/ingest/monitor.go`, `internal/storage/monitor.go`), plus
 * `location_updated_event`, which Tidings carries and Enduro's union lacks:
 * it requires what a location's other events do.
 */
export const MONITOR_EVENT_ACCESS: Readonly<Record<IngestEventType | StorageEventType, EventRequirement>> =
  Object.freeze({
    ingest_ping_event: 'always',
    sip_created_event: anyOf('ingest:sips:list'),
    sip_updated_event: anyOf('ingest:sips:list', 'ingest:sips:read'),
    sip_status_updated_event: anyOf('ingest:sips:list', 'ingest:sips:read'),
    sip_workflow_created_event: anyOf('ingest:sips:workflows:list'),
    sip_workflow_updated_event: anyOf('ingest:sips:workflows:list'),
    sip_task_created_event: anyOf('ingest:sips:workflows:list'),
    sip_task_updated_event: anyOf('ingest:sips:workflows:list'),
    batch_created_event: anyOf('ingest:batches:list'),
    batch_updated_event: anyOf('ingest:batches:list', 'ingest:batches:read'),
    storage_ping_event: 'always',
    location_created_event: anyOf('storage:locations:list'),
    location_updated_event: anyOf('storage:locations:list', 'storage:locations:read'),
    aip_created_event: anyOf('storage:aips:list'),
    aip_updated_event: anyOf('storage:aips:list', 'storage:aips:read'),
    aip_status_updated_event: anyOf('storage:aips:list', 'storage:aips:read'),
    aip_location_updated_event: anyOf('storage:aips:list', 'storage:aips:read'),
    aip_workflow_created_event: anyOf('storage:aips:workflows:list'),
    aip_workflow_updated_event: anyOf('storage:aips:workflows:list'),
    aip_task_created_event: anyOf('storage:aips:workflows:list'),
    aip_task_updated_event: anyOf('storage:aips:workflows:list'),
  });

/** Answers "may this client see an event of this type?". */
export type EventTypeFilter = (eventType: string) => boolean;

const everything: EventTypeFilter = () => true;

/**
 * The decision for one principal. `undefined` attributes (auth or ABAC
 * disabled) let every event through without a lookup; otherwise each event
 * type is checked against `table` the first time it is asked about and the
 * answer is kept, so the per-event cost is one map lookup.
 */
export function eventTypeFilter(
  attributes: readonly string[] | undefined,
  table: EventAccessTable = MONITOR_EVENT_ACCESS,
): EventTypeFilter {
  if (attributes === undefined) return everything;
  const decided = new Map<string, boolean>();
  return (eventType) => {
    let allowed = decided.get(eventType);
    if (allowed === undefined) {
      const requirement = Object.hasOwn(table, eventType) ? table[eventType] : undefined;
      allowed = requirement === 'always' || requirement?.some((needed) => checkAttributes(attributes, needed)) === true;
      decided.set(eventType, allowed);
    }
    return allowed;
  };
}
