/**
 * The monitor event catalogue as TypeBox schemas: the single source of the
 * TypeScript types (through `Static`) and of the compiled runtime validators.
 * Every schema mirrors a `$defs` entry of `wire/monitor-events.schema.json`
 * (property names, required fields, enums, formats); `schemas.test.ts` checks
 * that they stay structurally equal to it.
 *
 * Property order here is the canonical wire order: the encoder emits fields in
 * this order whatever order an object was built in.
 */
import { type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { INT32_MAX, INT32_MIN } from './formats.js';

type Literals<V extends string[]> = { [K in keyof V]: TLiteral<V[K]> };

// An enum of strings as a union of literals: TypeBox compiles it to plain
// `===` comparisons and `Static` yields the string-literal union.
function StringEnum<const V extends string[]>(values: [...V], description?: string): TUnion<Literals<V>> {
  const literals = values.map((v) => Type.Literal(v));
  return Type.Union(literals, description === undefined ? {} : { description }) as unknown as TUnion<Literals<V>>;
}

const DateTime = (description?: string) =>
  Type.String(description === undefined ? { format: 'date-time' } : { format: 'date-time', description });

// ---------------------------------------------------------------- enums

/** Status of a SIP (`EnduroIngestSip.status`, `SIPStatusUpdatedEvent.status`). */
export const SIPStatusSchema = StringEnum([
  'error',
  'failed',
  'queued',
  'processing',
  'pending',
  'ingested',
  'validated',
  'canceled',
]);
/** Status of a SIP. */
export type SIPStatus = Static<typeof SIPStatusSchema>;

/** Status of a batch (`EnduroIngestBatch.status`, `EnduroIngestSip.batch_status`). */
export const BatchStatusSchema = StringEnum(['queued', 'processing', 'pending', 'ingested', 'canceled', 'failed']);
/** Status of a batch. */
export type BatchStatus = Static<typeof BatchStatusSchema>;

/** Status of an AIP (`EnduroStorageAip.status`, `AIPStatusUpdatedEvent.status`). */
export const AIPStatusSchema = StringEnum(['unspecified', 'stored', 'pending', 'processing', 'deleted', 'queued']);
/** Status of an AIP. */
export type AIPStatus = Static<typeof AIPStatusSchema>;

// ---------------------------------------------------------------- ingest nested types

/** A SIP as the ingest service reports it (`$defs/EnduroIngestSip`). */
export const SIPSchema = Type.Object(
  {
    uuid: Type.String({ description: 'Identifier of SIP' }),
    name: Type.Optional(Type.String({ description: 'Name of the SIP' })),
    aip_uuid: Type.Optional(Type.String({ format: 'uuid', description: 'Identifier of AIP' })),
    status: SIPStatusSchema,
    file_count: Type.Optional(
      Type.Integer({
        format: 'int32',
        minimum: INT32_MIN,
        maximum: INT32_MAX,
        description: 'Number of files in the SIP',
      }),
    ),
    failed_as: Type.Optional(StringEnum(['SIP', 'PIP'], 'Package type in case of failure (SIP or PIP)')),
    failed_key: Type.Optional(Type.String({ description: 'Object key of the failed package in the internal bucket' })),
    created_at: DateTime('Creation datetime'),
    started_at: Type.Optional(DateTime('Start datetime')),
    completed_at: Type.Optional(DateTime('Completion datetime')),
    uploader_uuid: Type.Optional(Type.String({ description: 'UUID of the user who uploaded the SIP' })),
    uploader_email: Type.Optional(Type.String({ description: 'Email of the user who uploaded the SIP' })),
    uploader_name: Type.Optional(Type.String({ description: 'Name of the user who uploaded the SIP' })),
    batch_uuid: Type.Optional(Type.String({ description: 'UUID of the related Batch' })),
    batch_identifier: Type.Optional(Type.String({ description: 'Identifier of the related Batch' })),
    batch_status: Type.Optional(BatchStatusSchema),
  },
  { description: 'SIP describes an ingest SIP type.' },
);
/** A SIP as the ingest service reports it. */
export type SIP = Static<typeof SIPSchema>;

/** A task of a SIP workflow (`$defs/EnduroIngestSipTask`). */
export const SIPTaskSchema = Type.Object(
  {
    uuid: Type.String({ description: 'Identifier of the task' }),
    name: Type.String(),
    status: StringEnum(['unspecified', 'in progress', 'done', 'error', 'queued', 'pending', 'failed']),
    started_at: Type.Optional(DateTime()),
    completed_at: Type.Optional(DateTime()),
    note: Type.Optional(Type.String()),
    workflow_uuid: Type.String({ description: 'Identifier of related workflow' }),
  },
  { description: 'SIPTask describes a SIP workflow task.' },
);
/** A task of a SIP workflow. */
export type SIPTask = Static<typeof SIPTaskSchema>;

/** A workflow run on a SIP (`$defs/EnduroIngestSipWorkflow`). */
export const SIPWorkflowSchema = Type.Object(
  {
    uuid: Type.String({ description: 'Identifier of the workflow' }),
    temporal_id: Type.String(),
    type: StringEnum(['create aip', 'create and review aip']),
    status: StringEnum(['unspecified', 'in progress', 'done', 'error', 'queued', 'pending', 'failed', 'canceled']),
    started_at: DateTime(),
    completed_at: Type.Optional(DateTime()),
    sip_uuid: Type.String({ description: 'Identifier of related SIP' }),
    tasks: Type.Optional(Type.Array(SIPTaskSchema)),
  },
  { description: 'SIPWorkflow describes a workflow of a SIP.' },
);
/** A workflow run on a SIP. */
export type SIPWorkflow = Static<typeof SIPWorkflowSchema>;

/** An ingest batch (`$defs/EnduroIngestBatch`). */
export const BatchSchema = Type.Object(
  {
    uuid: Type.String({ description: 'Identifier of Batch' }),
    identifier: Type.String({ description: 'Identifier of the Batch' }),
    sips_count: Type.Integer({ format: 'int64', description: 'Number of SIPs in the Batch' }),
    status: BatchStatusSchema,
    created_at: DateTime('Creation datetime'),
    started_at: Type.Optional(DateTime('Start datetime')),
    completed_at: Type.Optional(DateTime('Completion datetime')),
    uploader_uuid: Type.Optional(Type.String({ description: 'UUID of the user who uploaded the Batch' })),
    uploader_email: Type.Optional(Type.String({ description: 'Email of the user who uploaded the Batch' })),
    uploader_name: Type.Optional(Type.String({ description: 'Name of the user who uploaded the Batch' })),
  },
  { description: 'Batch describes an ingest batch type.' },
);
/** An ingest batch. */
export type Batch = Static<typeof BatchSchema>;

// ---------------------------------------------------------------- storage nested types

/** Configuration of an Archivematica Storage Service location (`$defs/AMSSConfig`). */
export const AMSSConfigSchema = Type.Object({ url: Type.String(), username: Type.String(), api_key: Type.String() });
/** Configuration of an Archivematica Storage Service location. */
export type AMSSConfig = Static<typeof AMSSConfigSchema>;

/** Configuration of an S3 location (`$defs/S3Config`). */
export const S3ConfigSchema = Type.Object({
  bucket: Type.String(),
  region: Type.String(),
  endpoint: Type.Optional(Type.String()),
  path_style: Type.Optional(Type.Boolean()),
  profile: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  secret: Type.Optional(Type.String()),
  token: Type.Optional(Type.String()),
});
/** Configuration of an S3 location. */
export type S3Config = Static<typeof S3ConfigSchema>;

/** Configuration of an SFTP location (`$defs/SFTPConfig`). */
export const SFTPConfigSchema = Type.Object({
  address: Type.String(),
  username: Type.String(),
  password: Type.String(),
  directory: Type.String(),
});
/** Configuration of an SFTP location. */
export type SFTPConfig = Static<typeof SFTPConfigSchema>;

/** Configuration of a location reached by URL (`$defs/URLConfig`). */
export const URLConfigSchema = Type.Object({ url: Type.String() });
/** Configuration of a location reached by URL. */
export type URLConfig = Static<typeof URLConfigSchema>;

/**
 * A location's configuration. As in the contract, `value` is any of the four
 * config shapes and is not tied to `type` (Enduro's own document does not tie
 * them either), so check `type` before reading provider-specific fields.
 */
export const LocationConfigSchema = Type.Object({
  type: StringEnum(['amss', 's3', 'sftp', 'url']),
  value: Type.Union([AMSSConfigSchema, S3ConfigSchema, SFTPConfigSchema, URLConfigSchema]),
});
/** A location's configuration: its kind and its (credential-bearing) settings. */
export type LocationConfig = Static<typeof LocationConfigSchema>;

/** A storage location (`$defs/EnduroStorageLocation`). Its `config` carries credentials: see `redactStorageEvent`. */
export const LocationSchema = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String({ description: 'Name of location' }),
    description: Type.Optional(Type.String({ description: 'Description of the location' })),
    source: StringEnum(['unspecified', 's3', 'sftp', 'amss', 'filesystem'], 'Data source of the location'),
    purpose: StringEnum(['unspecified', 'aip_store'], 'Purpose of the location'),
    config: Type.Optional(LocationConfigSchema),
    created_at: DateTime('Creation datetime'),
  },
  { description: 'A Location describes a location retrieved by the storage service.' },
);
/** A storage location. */
export type Location = Static<typeof LocationSchema>;

/** An AIP as the storage service reports it (`$defs/EnduroStorageAip`). */
export const AIPSchema = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String(),
    status: AIPStatusSchema,
    object_key: Type.String(),
    location_uuid: Type.Optional(Type.String({ description: 'Identifier of storage location' })),
    deletion_report_key: Type.Optional(Type.String({ description: 'Deletion report key' })),
    created_at: DateTime('Creation datetime'),
  },
  { description: 'An AIP describes an AIP retrieved by the storage service.' },
);
/** An AIP as the storage service reports it. */
export type AIP = Static<typeof AIPSchema>;

/** A task of an AIP workflow (`$defs/EnduroStorageAipTask`). */
export const AIPTaskSchema = Type.Object(
  {
    uuid: Type.String(),
    name: Type.String(),
    status: StringEnum(['unspecified', 'in progress', 'done', 'error', 'queued', 'pending']),
    started_at: Type.Optional(DateTime()),
    completed_at: Type.Optional(DateTime()),
    note: Type.Optional(Type.String()),
    workflow_uuid: Type.String({ description: 'Identifier of related workflow' }),
  },
  { description: 'AIPTask describes an AIP workflow task.' },
);
/** A task of an AIP workflow. */
export type AIPTask = Static<typeof AIPTaskSchema>;

/** A workflow run on an AIP (`$defs/EnduroStorageAipWorkflow`). */
export const AIPWorkflowSchema = Type.Object(
  {
    uuid: Type.String(),
    temporal_id: Type.String(),
    type: StringEnum(['unspecified', 'upload aip', 'move aip', 'delete aip']),
    status: StringEnum(['unspecified', 'in progress', 'done', 'error', 'queued', 'pending', 'canceled']),
    started_at: Type.Optional(DateTime()),
    completed_at: Type.Optional(DateTime()),
    aip_uuid: Type.String({ description: 'Identifier of related AIP' }),
    tasks: Type.Optional(Type.Array(AIPTaskSchema)),
  },
  { description: 'AIPWorkflow describes a workflow of an AIP.' },
);
/** A workflow run on an AIP. */
export type AIPWorkflow = Static<typeof AIPWorkflowSchema>;

// ---------------------------------------------------------------- event payloads

const Ping = () => Type.Object({ message: Type.Optional(Type.String()) });
const Item = <S extends TSchema>(item: S, uuidDescription: string) =>
  Type.Object({ uuid: Type.String({ description: uuidDescription }), item });

/** Payload of `ingest_ping_event` (`$defs/IngestPingEvent`). */
export const IngestPingEventSchema = Ping();
/** Payload of `sip_created_event` / `sip_updated_event`. */
export const SIPEventPayloadSchema = Item(SIPSchema, 'Identifier of SIP');
/** Payload of `sip_status_updated_event`. */
export const SIPStatusUpdatedPayloadSchema = Type.Object({
  uuid: Type.String({ description: 'Identifier of SIP' }),
  status: SIPStatusSchema,
});
/** Payload of `sip_workflow_created_event` / `sip_workflow_updated_event`. */
export const SIPWorkflowEventPayloadSchema = Item(SIPWorkflowSchema, 'Identifier of workflow');
/** Payload of `sip_task_created_event` / `sip_task_updated_event`. */
export const SIPTaskEventPayloadSchema = Item(SIPTaskSchema, 'Identifier of task');
/** Payload of `batch_created_event` / `batch_updated_event`. */
export const BatchEventPayloadSchema = Item(BatchSchema, 'Identifier of Batch');

/** Payload of `storage_ping_event` (`$defs/StoragePingEvent`). */
export const StoragePingEventSchema = Ping();
/** Payload of `location_created_event` / `location_updated_event`. */
export const LocationEventPayloadSchema = Item(LocationSchema, 'Identifier of Location');
/** Payload of `aip_created_event` / `aip_updated_event`. */
export const AIPEventPayloadSchema = Item(AIPSchema, 'Identifier of AIP');
/** Payload of `aip_status_updated_event`. */
export const AIPStatusUpdatedPayloadSchema = Type.Object({
  uuid: Type.String({ description: 'Identifier of AIP' }),
  status: AIPStatusSchema,
});
/** Payload of `aip_location_updated_event`. */
export const AIPLocationUpdatedPayloadSchema = Type.Object({
  uuid: Type.String({ description: 'Identifier of AIP' }),
  location_uuid: Type.String({ description: 'Identifier of Location' }),
});
/** Payload of `aip_workflow_created_event` / `aip_workflow_updated_event`. */
export const AIPWorkflowEventPayloadSchema = Item(AIPWorkflowSchema, 'Identifier of workflow');
/** Payload of `aip_task_created_event` / `aip_task_updated_event`. */
export const AIPTaskEventPayloadSchema = Item(AIPTaskSchema, 'Identifier of task');

/**
 * Payload schema of every ingest event, keyed by its wire `type`. Key order is
 * the order of the contract's union.
 */
export const ingestPayloadSchemas = {
  ingest_ping_event: IngestPingEventSchema,
  sip_created_event: SIPEventPayloadSchema,
  sip_updated_event: SIPEventPayloadSchema,
  sip_status_updated_event: SIPStatusUpdatedPayloadSchema,
  sip_workflow_created_event: SIPWorkflowEventPayloadSchema,
  sip_workflow_updated_event: SIPWorkflowEventPayloadSchema,
  sip_task_created_event: SIPTaskEventPayloadSchema,
  sip_task_updated_event: SIPTaskEventPayloadSchema,
  batch_created_event: BatchEventPayloadSchema,
  batch_updated_event: BatchEventPayloadSchema,
} as const;

/** Payload schema of every storage event, keyed by its wire `type`, in the contract's order. */
export const storagePayloadSchemas = {
  storage_ping_event: StoragePingEventSchema,
  location_created_event: LocationEventPayloadSchema,
  location_updated_event: LocationEventPayloadSchema,
  aip_created_event: AIPEventPayloadSchema,
  aip_updated_event: AIPEventPayloadSchema,
  aip_status_updated_event: AIPStatusUpdatedPayloadSchema,
  aip_location_updated_event: AIPLocationUpdatedPayloadSchema,
  aip_workflow_created_event: AIPWorkflowEventPayloadSchema,
  aip_workflow_updated_event: AIPWorkflowEventPayloadSchema,
  aip_task_created_event: AIPTaskEventPayloadSchema,
  aip_task_updated_event: AIPTaskEventPayloadSchema,
} as const;

/** The wire `type` of an ingest event, e.g. `"sip_updated_event"`. */
export type IngestEventType = keyof typeof ingestPayloadSchemas;
/** The wire `type` of a storage event, e.g. `"aip_created_event"`. */
export type StorageEventType = keyof typeof storagePayloadSchemas;

/** Every ingest event type, in the contract's order. */
export const INGEST_EVENT_TYPES = Object.freeze(Object.keys(ingestPayloadSchemas)) as readonly IngestEventType[];
/** Every storage event type, in the contract's order. */
export const STORAGE_EVENT_TYPES = Object.freeze(Object.keys(storagePayloadSchemas)) as readonly StorageEventType[];

/**
 * The payload (`value`) of the ingest event whose wire type is `K`.
 * @example `IngestPayload<'sip_status_updated_event'>` is `{ uuid: string; status: SIPStatus }`.
 */
export type IngestPayload<K extends IngestEventType> = Static<(typeof ingestPayloadSchemas)[K]>;
/** The payload (`value`) of the storage event whose wire type is `K`. */
export type StoragePayload<K extends StorageEventType> = Static<(typeof storagePayloadSchemas)[K]>;

/** The ingest event of wire type `K`: `{ type: K; value: IngestPayload<K> }`. */
export type IngestEventOf<K extends IngestEventType> = { type: K; value: IngestPayload<K> };
/** The storage event of wire type `K`: `{ type: K; value: StoragePayload<K> }`. */
export type StorageEventOf<K extends StorageEventType> = { type: K; value: StoragePayload<K> };

// ---------------------------------------------------------------- the unions and their members

/** Keep-alive of the ingest stream. */
export type MonitorPingEvent = IngestEventOf<'ingest_ping_event'>;
/** A SIP was created. */
export type SIPCreatedEvent = IngestEventOf<'sip_created_event'>;
/** A SIP changed. */
export type SIPUpdatedEvent = IngestEventOf<'sip_updated_event'>;
/** A SIP's status changed. */
export type SIPStatusUpdatedEvent = IngestEventOf<'sip_status_updated_event'>;
/** A workflow started on a SIP. */
export type SIPWorkflowCreatedEvent = IngestEventOf<'sip_workflow_created_event'>;
/** A SIP workflow changed. */
export type SIPWorkflowUpdatedEvent = IngestEventOf<'sip_workflow_updated_event'>;
/** A task of a SIP workflow was created. */
export type SIPTaskCreatedEvent = IngestEventOf<'sip_task_created_event'>;
/** A task of a SIP workflow changed. */
export type SIPTaskUpdatedEvent = IngestEventOf<'sip_task_updated_event'>;
/** A batch was created. */
export type BatchCreatedEvent = IngestEventOf<'batch_created_event'>;
/** A batch changed. */
export type BatchUpdatedEvent = IngestEventOf<'batch_updated_event'>;

/**
 * An ingest monitor event: the discriminated union over `type`. On the wire it
 * is wrapped as `{"value": <event>}` (see `ingestCodec`).
 *
 * @example
 * ```ts
 * function onEvent(event: MonitorEvent) {
 *   if (event.type === 'sip_status_updated_event') console.log(event.value.uuid, event.value.status);
 * }
 * ```
 */
export type MonitorEvent =
  | MonitorPingEvent
  | SIPCreatedEvent
  | SIPUpdatedEvent
  | SIPStatusUpdatedEvent
  | SIPWorkflowCreatedEvent
  | SIPWorkflowUpdatedEvent
  | SIPTaskCreatedEvent
  | SIPTaskUpdatedEvent
  | BatchCreatedEvent
  | BatchUpdatedEvent;

/** Keep-alive of the storage stream. */
export type StorageMonitorPingEvent = StorageEventOf<'storage_ping_event'>;
/** A location was created. Carries credentials: redact before showing it. */
export type LocationCreatedEvent = StorageEventOf<'location_created_event'>;
/** A location changed. Carries credentials: redact before showing it. */
export type LocationUpdatedEvent = StorageEventOf<'location_updated_event'>;
/** An AIP was created. */
export type AIPCreatedEvent = StorageEventOf<'aip_created_event'>;
/** An AIP changed. */
export type AIPUpdatedEvent = StorageEventOf<'aip_updated_event'>;
/** An AIP's status changed. */
export type AIPStatusUpdatedEvent = StorageEventOf<'aip_status_updated_event'>;
/** An AIP moved to another location. */
export type AIPLocationUpdatedEvent = StorageEventOf<'aip_location_updated_event'>;
/** A workflow started on an AIP (wire type `aip_workflow_created_event`). */
export type WorkflowCreatedEvent = StorageEventOf<'aip_workflow_created_event'>;
/** An AIP workflow changed (wire type `aip_workflow_updated_event`). */
export type WorkflowUpdatedEvent = StorageEventOf<'aip_workflow_updated_event'>;
/** A task of an AIP workflow was created (wire type `aip_task_created_event`). */
export type TaskCreatedEvent = StorageEventOf<'aip_task_created_event'>;
/** A task of an AIP workflow changed (wire type `aip_task_updated_event`). */
export type TaskUpdatedEvent = StorageEventOf<'aip_task_updated_event'>;

/** A storage monitor event: the discriminated union over `type`, wrapped on the wire as `{"value": <event>}`. */
export type StorageMonitorEvent =
  | StorageMonitorPingEvent
  | LocationCreatedEvent
  | LocationUpdatedEvent
  | AIPCreatedEvent
  | AIPUpdatedEvent
  | AIPStatusUpdatedEvent
  | AIPLocationUpdatedEvent
  | WorkflowCreatedEvent
  | WorkflowUpdatedEvent
  | TaskCreatedEvent
  | TaskUpdatedEvent;
