/**
 * The monitor's picture of the world, folded from ingest and storage events:
 * SIPs with their workflows and tasks, batches, AIPs with theirs, locations,
 * and a feed of notable changes. One pure reducer serves the gateway's state
 * endpoints (folding the retained history) and the dashboard (folding what
 * arrives live after that snapshot), so a page that reloads sees what it saw.
 *
 * Pure and self-contained on purpose: no I/O, no clock, no DOM, and no import
 * that survives compilation, so the compiled module is served to browsers as is.
 */
import type { RedactedLocation, RedactedStorageMonitorEvent } from './redaction.js';
import type {
  AIP,
  AIPTask,
  AIPWorkflow,
  Batch,
  MonitorEvent,
  SIP,
  SIPTask,
  SIPWorkflow,
  StorageMonitorEvent,
} from './schemas.js';

/** A workflow as the monitor shows it: its latest fields and its tasks in the order they appeared. */
export type WorkflowView<W, K> = Omit<W, 'tasks'> & { readonly tasks: readonly K[] };

/** A SIP workflow with its tasks. */
export type SipWorkflowView = WorkflowView<SIPWorkflow, SIPTask>;
/** An AIP workflow with its tasks. */
export type AipWorkflowView = WorkflowView<AIPWorkflow, AIPTask>;

/**
 * What is known of a SIP: every field an event told (a later event that
 * omits a field keeps the earlier value, so a name that arrived once stays),
 * and its workflows, newest first. A SIP first heard of through a status or
 * workflow event has only its `uuid` and what that event said.
 */
export type SipView = Partial<SIP> & { readonly uuid: string; readonly workflows: readonly SipWorkflowView[] };

/** What is known of an AIP, with its workflows, newest first. */
export type AipView = Partial<AIP> & { readonly uuid: string; readonly workflows: readonly AipWorkflowView[] };

/** Kinds of {@link ActivityEntry}. */
export type ActivityKind =
  | 'sip-received'
  | 'sip-status'
  | 'workflow-started'
  | 'task-failed'
  | 'batch-created'
  | 'location-added'
  | 'aip-created'
  | 'aip-status';

/**
 * A notable change. It names things by uuid, not by text, so a view shows the
 * name known when it renders (a SIP whose name arrived later is named).
 */
export interface ActivityEntry {
  readonly kind: ActivityKind;
  /** The SIP, batch, location or AIP it is about. */
  readonly uuid: string;
  /** The new status (`sip-status`, `aip-status`, `task-failed`). */
  readonly status?: string;
  /** The task's name (`task-failed`) or the workflow's type (`workflow-started`). */
  readonly label?: string;
  /** When it happened, if the event said (ISO 8601). */
  readonly at?: string;
}

/**
 * The monitor state. Every collection is bounded (see
 * {@link MonitorStateLimits}) and ordered most recent first, by when the
 * reducer first heard of each item; updates change an item in place. Plain
 * JSON: it travels from the gateway to the page as is.
 */
export interface MonitorState {
  readonly sips: readonly SipView[];
  readonly batches: readonly Batch[];
  readonly aips: readonly AipView[];
  readonly locations: readonly RedactedLocation[];
  readonly activity: readonly ActivityEntry[];
}

/** How much a {@link MonitorState} keeps: past a cap the least recently first-seen items go. */
export interface MonitorStateLimits {
  readonly sips: number;
  readonly workflowsPerItem: number;
  readonly tasksPerWorkflow: number;
  readonly batches: number;
  readonly aips: number;
  readonly locations: number;
  readonly activity: number;
}

/** The caps the gateway and the dashboard use. */
export const MONITOR_STATE_LIMITS: MonitorStateLimits = Object.freeze({
  sips: 150,
  workflowsPerItem: 10,
  tasksPerWorkflow: 100,
  batches: 50,
  aips: 100,
  locations: 50,
  activity: 60,
});

/** Any event the reducer folds: ingest, storage (redacted, as browsers get them, or not). */
export type MonitorStateEvent = MonitorEvent | StorageMonitorEvent | RedactedStorageMonitorEvent;

/** The state before any event. */
export function emptyMonitorState(): MonitorState {
  return { sips: [], batches: [], aips: [], locations: [], activity: [] };
}

interface Keyed {
  readonly uuid: string;
}

/**
 * `base` with every defined field of `patch`. An absent or undefined field
 * keeps its value, so partial updates never erase what is known, and the
 * result survives a JSON round trip unchanged.
 */
function merged<T extends object>(base: T, patch: object): T {
  const next: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) next[key] = value;
  return next as T;
}

/**
 * `items` with the one whose uuid is `uuid` replaced by `update(it)`, or, when
 * there is none, `update(undefined)` put first and the oldest dropped past `cap`.
 */
function upsert<T extends Keyed>(
  items: readonly T[],
  uuid: string,
  update: (current: T | undefined) => T,
  cap: number,
): readonly T[] {
  const index = items.findIndex((item) => item.uuid === uuid);
  if (index >= 0) {
    const next = items.slice();
    next[index] = update(items[index]);
    return next;
  }
  return [update(undefined), ...items.slice(0, Math.max(0, cap - 1))];
}

/** Same, with a new item appended (tasks read in the order they started) and the oldest dropped past `cap`. */
function upsertLast<T extends Keyed>(
  items: readonly T[],
  uuid: string,
  update: (current: T | undefined) => T,
  cap: number,
): readonly T[] {
  const index = items.findIndex((item) => item.uuid === uuid);
  if (index >= 0) {
    const next = items.slice();
    next[index] = update(items[index]);
    return next;
  }
  const next = [...items, update(undefined)];
  return next.length > cap ? next.slice(next.length - cap) : next;
}

function withoutTasks<W extends { tasks?: unknown }>(item: W): Omit<W, 'tasks'> {
  const { tasks: _tasks, ...rest } = item;
  return rest;
}

/** A workflow item merged into `workflows`, its inline tasks (if any) merged into its own. */
function workflowUpserted<W extends Keyed & { tasks?: readonly K[] }, K extends Keyed>(
  workflows: readonly WorkflowView<W, K>[],
  item: W,
  limits: MonitorStateLimits,
): readonly WorkflowView<W, K>[] {
  return upsert(
    workflows,
    item.uuid,
    (current) => {
      let tasks = current?.tasks ?? [];
      for (const task of item.tasks ?? []) tasks = taskUpserted(tasks, task, limits);
      return { ...merged(current ?? ({} as WorkflowView<W, K>), withoutTasks(item)), tasks } as WorkflowView<W, K>;
    },
    limits.workflowsPerItem,
  );
}

function taskUpserted<K extends Keyed>(tasks: readonly K[], task: K, limits: MonitorStateLimits): readonly K[] {
  return upsertLast(tasks, task.uuid, (current) => merged(current ?? ({} as K), task), limits.tasksPerWorkflow);
}

/** The index of the owner (SIP or AIP) holding workflow `workflowUuid`, or -1. */
function ownerOfWorkflow(owners: readonly { workflows: readonly Keyed[] }[], workflowUuid: string): number {
  return owners.findIndex((owner) => owner.workflows.some((workflow) => workflow.uuid === workflowUuid));
}

function noted(state: MonitorState, entry: ActivityEntry, limits: MonitorStateLimits): readonly ActivityEntry[] {
  const clean = merged({} as ActivityEntry, entry);
  return [clean, ...state.activity.slice(0, Math.max(0, limits.activity - 1))];
}

const FAILED_TASK = new Set(['error', 'failed']);

function reduceIngest(state: MonitorState, event: MonitorEvent, limits: MonitorStateLimits): MonitorState {
  switch (event.type) {
    case 'sip_created_event':
    case 'sip_updated_event': {
      const { uuid, item } = event.value;
      const sips = upsert(state.sips, uuid, (current) => merged(current ?? { uuid, workflows: [] }, item), limits.sips);
      if (event.type === 'sip_updated_event') return { ...state, sips };
      return { ...state, sips, activity: noted(state, { kind: 'sip-received', uuid, at: item.created_at }, limits) };
    }
    case 'sip_status_updated_event': {
      const { uuid, status } = event.value;
      const sips = upsert(
        state.sips,
        uuid,
        (current) => merged(current ?? { uuid, workflows: [] }, { status }),
        limits.sips,
      );
      return { ...state, sips, activity: noted(state, { kind: 'sip-status', uuid, status }, limits) };
    }
    case 'sip_workflow_created_event':
    case 'sip_workflow_updated_event': {
      const item = event.value.item;
      const sips = upsert(
        state.sips,
        item.sip_uuid,
        (current) => {
          const sip = current ?? { uuid: item.sip_uuid, workflows: [] };
          return { ...sip, workflows: workflowUpserted<SIPWorkflow, SIPTask>(sip.workflows, item, limits) };
        },
        limits.sips,
      );
      if (event.type === 'sip_workflow_updated_event') return { ...state, sips };
      const started: ActivityEntry = {
        kind: 'workflow-started',
        uuid: item.sip_uuid,
        label: item.type,
        at: item.started_at,
      };
      return { ...state, sips, activity: noted(state, started, limits) };
    }
    case 'sip_task_created_event':
    case 'sip_task_updated_event': {
      const task = event.value.item;
      // A task names only its workflow: one whose workflow is unknown (never seen, or dropped with its SIP) has nowhere to go.
      const owner = ownerOfWorkflow(state.sips, task.workflow_uuid);
      const sip = state.sips[owner];
      if (sip === undefined) return state;
      const sips = state.sips.slice();
      sips[owner] = {
        ...sip,
        workflows: sip.workflows.map((workflow) =>
          workflow.uuid === task.workflow_uuid
            ? { ...workflow, tasks: taskUpserted(workflow.tasks, task, limits) }
            : workflow,
        ),
      };
      if (event.type === 'sip_task_updated_event' && FAILED_TASK.has(task.status)) {
        const failed: ActivityEntry = {
          kind: 'task-failed',
          uuid: sip.uuid,
          status: task.status,
          label: task.name,
          at: task.completed_at,
        };
        return { ...state, sips, activity: noted(state, failed, limits) };
      }
      return { ...state, sips };
    }
    case 'batch_created_event':
    case 'batch_updated_event': {
      const { uuid, item } = event.value;
      const batches = upsert(state.batches, uuid, (current) => merged(current ?? item, item), limits.batches);
      if (event.type === 'batch_updated_event') return { ...state, batches };
      return {
        ...state,
        batches,
        activity: noted(state, { kind: 'batch-created', uuid, at: item.created_at }, limits),
      };
    }
    default:
      return state;
  }
}

function reduceStorage(
  state: MonitorState,
  event: StorageMonitorEvent | RedactedStorageMonitorEvent,
  limits: MonitorStateLimits,
): MonitorState {
  switch (event.type) {
    case 'location_created_event':
    case 'location_updated_event': {
      const { uuid, item } = event.value;
      const locations = upsert(
        state.locations,
        uuid,
        (current) => merged(current ?? ({} as RedactedLocation), item as RedactedLocation),
        limits.locations,
      );
      if (event.type === 'location_updated_event') return { ...state, locations };
      const added: ActivityEntry = { kind: 'location-added', uuid, at: item.created_at };
      return { ...state, locations, activity: noted(state, added, limits) };
    }
    case 'aip_created_event':
    case 'aip_updated_event': {
      const { uuid, item } = event.value;
      const aips = upsert(state.aips, uuid, (current) => merged(current ?? { uuid, workflows: [] }, item), limits.aips);
      if (event.type === 'aip_updated_event') return { ...state, aips };
      return { ...state, aips, activity: noted(state, { kind: 'aip-created', uuid, at: item.created_at }, limits) };
    }
    case 'aip_status_updated_event':
    case 'aip_location_updated_event': {
      const { uuid, ...patch } = event.value;
      const aips = upsert(
        state.aips,
        uuid,
        (current) => merged(current ?? { uuid, workflows: [] }, patch),
        limits.aips,
      );
      if (event.type === 'aip_location_updated_event') return { ...state, aips };
      return {
        ...state,
        aips,
        activity: noted(state, { kind: 'aip-status', uuid, status: event.value.status }, limits),
      };
    }
    case 'aip_workflow_created_event':
    case 'aip_workflow_updated_event': {
      const item = event.value.item;
      const aips = upsert(
        state.aips,
        item.aip_uuid,
        (current) => {
          const aip = current ?? { uuid: item.aip_uuid, workflows: [] };
          return { ...aip, workflows: workflowUpserted<AIPWorkflow, AIPTask>(aip.workflows, item, limits) };
        },
        limits.aips,
      );
      return { ...state, aips };
    }
    case 'aip_task_created_event':
    case 'aip_task_updated_event': {
      const task = event.value.item;
      const owner = ownerOfWorkflow(state.aips, task.workflow_uuid);
      const aip = state.aips[owner];
      if (aip === undefined) return state;
      const aips = state.aips.slice();
      aips[owner] = {
        ...aip,
        workflows: aip.workflows.map((workflow) =>
          workflow.uuid === task.workflow_uuid
            ? { ...workflow, tasks: taskUpserted(workflow.tasks, task, limits) }
            : workflow,
        ),
      };
      return { ...state, aips };
    }
    default:
      return state;
  }
}

/**
 * The state after `event`. Pure and deterministic: the same state and event
 * always give the same result, `state` is never changed, and folding events
 * in one go or in pieces (with a JSON round trip in between, as from the
 * gateway to a page) ends in the same state. Item collections are idempotent
 * (an event applied twice leaves them as once); the activity feed records
 * each application. Pings, unknown types and tasks of unknown workflows leave
 * the state as it is (the same object).
 *
 * @example
 * ```ts
 * let state = emptyMonitorState();
 * for (const event of events) state = reduceMonitorState(state, event);
 * console.log(state.sips[0]?.name);
 * ```
 */
export function reduceMonitorState(
  state: MonitorState,
  event: MonitorStateEvent,
  limits: MonitorStateLimits = MONITOR_STATE_LIMITS,
): MonitorState {
  if (typeof event !== 'object' || event === null || typeof event.value !== 'object' || event.value === null) {
    return state;
  }
  const next = reduceIngest(state, event as MonitorEvent, limits);
  return next !== state ? next : reduceStorage(state, event as StorageMonitorEvent, limits);
}
