import { randomUUID } from 'node:crypto';
import { type Logger, silentLogger } from '../core/logger.js';
import { publishIngestEvent, publishStorageEvent } from '../monitor/publish-helpers.js';
import type { SIP, SIPTask, SIPWorkflow } from '../monitor/schemas.js';
import type { IngestEventService, StorageEventService } from '../monitor/services.js';

/** Options of {@link startDemoProducer}. */
export interface DemoProducerOptions {
  readonly ingest: IngestEventService;
  readonly storage: StorageEventService;
  /** Time between two steps of a workflow, in ms. @default 700 */
  readonly stepIntervalMs?: number;
  /** SIPs in flight at once. @default 4 */
  readonly concurrentSips?: number;
  /** Share of SIPs whose ingest fails, 0..1. @default 0.15 */
  readonly failureRate?: number;
  /** Source of randomness (for reproducible runs). @default Math.random */
  readonly random?: () => number;
  /** Where a failed publish is reported. @default silent */
  readonly logger?: Logger;
}

/** A running demo producer. */
export interface DemoProducer {
  /** SIPs started so far. */
  readonly sipsStarted: number;
  /** Stops producing; SIPs in flight stay where they are. Idempotent. */
  stop(): void;
}

type Step = () => void;

const COLLECTIONS = [
  'Municipal-Council-Minutes',
  'Harbour-Photo-Archive',
  'Oral-History-Interviews',
  'Land-Registry-Scans',
  'University-Theses',
  'Parish-Registers',
  'Broadcast-Recordings',
  'Architectural-Drawings',
];

const UPLOADERS = [
  { name: 'Ana Costa', email: 'ana.costa@archive.example' },
  { name: 'Jonas Berg', email: 'jonas.berg@archive.example' },
  { name: 'Mei Tanaka', email: 'mei.tanaka@archive.example' },
  { name: 'Samuel Okafor', email: 'samuel.okafor@archive.example' },
];

/** The ingest tasks of Enduro's "create aip" workflow, in order, with the note each leaves. */
const INGEST_TASKS: ReadonlyArray<{ name: string; note: string }> = [
  { name: 'Download package', note: 'Package downloaded from the "sips-incoming" watched bucket' },
  { name: 'Unarchive package', note: 'Extracted the package archive' },
  { name: 'Classify SIP type', note: 'Package is a standard BagIt SIP' },
  { name: 'Validate SIP structure', note: 'SIP structure matches the expected layout' },
  { name: 'Verify checksums', note: 'All payload checksums match the manifest' },
  { name: 'Identify file formats', note: 'Formats identified with Siegfried (PRONOM)' },
  { name: 'Validate file formats', note: 'All files are in accepted preservation formats' },
  { name: 'Create AIP', note: 'AIP created with a3m' },
];

const FAILURES: ReadonlyArray<{ task: number; note: string }> = [
  { task: 3, note: 'Content error: missing bag-info.txt' },
  { task: 4, note: 'Checksum mismatch for data/objects/minutes-1987-03.pdf' },
  { task: 6, note: 'Content error: 2 files in formats not accepted for preservation (fmt/353)' },
];

const AIP_TASKS = ['Copy AIP to the storage location', 'Verify stored AIP', 'Register AIP in the storage service'];

const now = (): string => new Date().toISOString();

/**
 * Starts a producer that walks SIPs through realistic Enduro ingest workflows
 * (created, queued, processing, workflow and tasks created and updated,
 * ingested or failed, AIP stored) and the matching storage activity, at a
 * steady pace, publishing through the typed helpers. It first announces two
 * storage locations whose configurations carry (fake) credentials, which the
 * gateway must redact. About a third of the SIPs are created without a name,
 * which arrives with their first update, as a viewer must cope with.
 *
 * @example
 * ```ts
 * const demo = startDemoProducer({ ingest, storage, stepIntervalMs: 500 });
 * // later
 * demo.stop();
 * ```
 */
export function startDemoProducer(options: DemoProducerOptions): DemoProducer {
  const { ingest, storage } = options;
  const stepIntervalMs = options.stepIntervalMs ?? 700;
  if (!Number.isFinite(stepIntervalMs) || stepIntervalMs <= 0) {
    throw new TypeError(`options.stepIntervalMs must be a positive number, got ${String(stepIntervalMs)}`);
  }
  const concurrent = options.concurrentSips ?? 4;
  const failureRate = options.failureRate ?? 0.15;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  let started = 0;
  const active: Step[][] = [];

  const safely =
    (step: Step): Step =>
    () => {
      try {
        step();
      } catch (error) {
        logger.error({ err: error }, 'demo producer: publishing failed');
      }
    };

  // Storage locations, with credentials in their configs (the gateway strips them).
  const perpetual = randomUUID();
  const replica = randomUUID();
  const createdAt = now();
  const perpetualLocation = {
    uuid: perpetual,
    item: {
      uuid: perpetual,
      name: 'Perpetual storage',
      description: 'Primary AIP store (S3, eu-west-1)',
      source: 's3' as const,
      purpose: 'aip_store' as const,
      created_at: createdAt,
      config: {
        type: 's3' as const,
        value: {
          bucket: 'aip-perpetual',
          region: 'eu-west-1',
          endpoint: 'https://s3.eu-west-1.example',
          key: 'AKIADEMOACCESSKEY',
          secret: 'demo-secret-access-key',
        },
      },
    },
  };
  const replicaLocation = {
    uuid: replica,
    item: {
      uuid: replica,
      name: 'Offsite replica',
      description: 'Second copy at the partner institution (SFTP)',
      source: 'sftp' as const,
      purpose: 'aip_store' as const,
      created_at: createdAt,
      config: {
        type: 'sftp' as const,
        value: {
          address: 'sftp.partner.example:22',
          username: 'preservation',
          password: 'demo-sftp-password',
          directory: '/aips',
        },
      },
    },
  };
  publishStorageEvent(storage, 'location_created_event', perpetualLocation);
  publishStorageEvent(storage, 'location_created_event', replicaLocation);
  // The gateway keeps no state: pages that connect later learn the locations
  // from a periodic update, as a storage service re-syncing its locations would send.
  let ticks = 0;
  const announceLocations = (): void => {
    publishStorageEvent(storage, 'location_updated_event', perpetualLocation);
    publishStorageEvent(storage, 'location_updated_event', replicaLocation);
  };

  const script = (): Step[] => {
    started++;
    const sipUuid = randomUUID();
    const aipUuid = randomUUID();
    const workflowUuid = randomUUID();
    const uploader = pick(UPLOADERS);
    const year = 1950 + Math.floor(random() * 70);
    const name = `${pick(COLLECTIONS)}-${year}-${String(started).padStart(4, '0')}.zip`;
    const failure = random() < failureRate ? pick(FAILURES) : undefined;
    const fileCount = 5 + Math.floor(random() * 400);
    const sip: SIP = {
      uuid: sipUuid,
      name,
      status: 'queued',
      file_count: fileCount,
      created_at: now(),
      uploader_uuid: randomUUID(),
      uploader_name: uploader.name,
      uploader_email: uploader.email,
    };
    const workflow: SIPWorkflow = {
      uuid: workflowUuid,
      temporal_id: `processing-workflow-${randomUUID()}`,
      type: 'create aip',
      status: 'in progress',
      started_at: now(),
      sip_uuid: sipUuid,
    };
    const steps: Step[] = [];

    // As from a watched bucket: some SIPs are announced before their name is read, which comes with the next update.
    const namedLater = random() < 0.3;
    steps.push(() => {
      const { name: _later, ...unnamed } = sip;
      publishIngestEvent(ingest, 'sip_created_event', { uuid: sipUuid, item: namedLater ? unnamed : { ...sip } });
    });
    steps.push(() => {
      sip.status = 'processing';
      sip.started_at = now();
      publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: sipUuid, status: 'processing' });
      publishIngestEvent(ingest, 'sip_updated_event', { uuid: sipUuid, item: { ...sip } });
      workflow.started_at = now();
      publishIngestEvent(ingest, 'sip_workflow_created_event', { uuid: workflowUuid, item: { ...workflow } });
    });

    const lastTask = failure ? failure.task : INGEST_TASKS.length - 1;
    for (let index = 0; index <= lastTask; index++) {
      const spec = INGEST_TASKS[index] as { name: string; note: string };
      const task: SIPTask = { uuid: randomUUID(), name: spec.name, status: 'in progress', workflow_uuid: workflowUuid };
      steps.push(() => {
        task.started_at = now();
        publishIngestEvent(ingest, 'sip_task_created_event', { uuid: task.uuid, item: { ...task } });
      });
      const fails = failure !== undefined && index === failure.task;
      steps.push(() => {
        task.status = fails ? 'error' : 'done';
        task.completed_at = now();
        task.note = fails ? (failure?.note ?? 'failed') : spec.note;
        publishIngestEvent(ingest, 'sip_task_updated_event', { uuid: task.uuid, item: { ...task } });
        if (!fails) return;
        workflow.status = 'error';
        workflow.completed_at = now();
        publishIngestEvent(ingest, 'sip_workflow_updated_event', { uuid: workflowUuid, item: { ...workflow } });
        sip.status = 'failed';
        sip.failed_as = 'SIP';
        sip.failed_key = `failed/${name}`;
        sip.completed_at = now();
        publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: sipUuid, status: 'failed' });
        publishIngestEvent(ingest, 'sip_updated_event', { uuid: sipUuid, item: { ...sip } });
      });
    }
    if (failure) return steps;

    // Storage takes the AIP: created, uploaded by its own workflow, stored.
    const aipName = name.replace(/\.zip$/, '');
    const locationUuid = random() < 0.7 ? perpetual : replica;
    const aipWorkflow = {
      uuid: randomUUID(),
      temporal_id: `upload-aip-${randomUUID()}`,
      type: 'upload aip' as const,
      status: 'in progress' as const,
      aip_uuid: aipUuid,
      started_at: now(),
    };
    const storeTask: SIPTask = {
      uuid: randomUUID(),
      name: 'Store AIP',
      status: 'in progress',
      workflow_uuid: workflowUuid,
    };
    steps.push(() => {
      storeTask.started_at = now();
      publishIngestEvent(ingest, 'sip_task_created_event', { uuid: storeTask.uuid, item: { ...storeTask } });
      publishStorageEvent(storage, 'aip_created_event', {
        uuid: aipUuid,
        item: { uuid: aipUuid, name: aipName, status: 'processing', object_key: aipUuid, created_at: now() },
      });
      publishStorageEvent(storage, 'aip_workflow_created_event', {
        uuid: aipWorkflow.uuid,
        item: { ...aipWorkflow, started_at: now() },
      });
    });
    for (const taskName of AIP_TASKS) {
      const task = { uuid: randomUUID(), name: taskName, workflow_uuid: aipWorkflow.uuid };
      steps.push(() => {
        const startedAt = now();
        publishStorageEvent(storage, 'aip_task_created_event', {
          uuid: task.uuid,
          item: { ...task, status: 'in progress', started_at: startedAt },
        });
        publishStorageEvent(storage, 'aip_task_updated_event', {
          uuid: task.uuid,
          item: { ...task, status: 'done', started_at: startedAt, completed_at: now() },
        });
      });
    }
    steps.push(() => {
      publishStorageEvent(storage, 'aip_location_updated_event', { uuid: aipUuid, location_uuid: locationUuid });
      publishStorageEvent(storage, 'aip_status_updated_event', { uuid: aipUuid, status: 'stored' });
      publishStorageEvent(storage, 'aip_workflow_updated_event', {
        uuid: aipWorkflow.uuid,
        item: { ...aipWorkflow, status: 'done', completed_at: now() },
      });
      storeTask.status = 'done';
      storeTask.completed_at = now();
      storeTask.note = 'AIP stored in "Perpetual storage"';
      if (locationUuid === replica) storeTask.note = 'AIP stored in "Offsite replica"';
      publishIngestEvent(ingest, 'sip_task_updated_event', { uuid: storeTask.uuid, item: { ...storeTask } });
    });
    steps.push(() => {
      workflow.status = 'done';
      workflow.completed_at = now();
      publishIngestEvent(ingest, 'sip_workflow_updated_event', { uuid: workflowUuid, item: { ...workflow } });
      sip.status = 'ingested';
      sip.aip_uuid = aipUuid;
      sip.completed_at = now();
      publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: sipUuid, status: 'ingested' });
      publishIngestEvent(ingest, 'sip_updated_event', { uuid: sipUuid, item: { ...sip } });
    });
    return steps;
  };

  const tick = (): void => {
    if (++ticks % 10 === 0) safely(announceLocations)();
    // Stagger arrivals: at most one new SIP per tick.
    if (active.length < concurrent) active.push(script());
    for (let i = active.length - 1; i >= 0; i--) {
      const steps = active[i] as Step[];
      // Not every SIP moves on every tick, as in a real pipeline.
      if (steps.length > 1 && random() < 0.35) continue;
      const step = steps.shift();
      if (step) safely(step)();
      if (steps.length === 0) active.splice(i, 1);
    }
  };

  tick();
  const timer = setInterval(tick, stepIntervalMs);
  return {
    get sipsStarted(): number {
      return started;
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
