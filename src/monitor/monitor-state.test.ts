import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ingestEventArb, storageEventArb } from '../../test/fixtures/arbitrary.js';
import {
  emptyMonitorState,
  MONITOR_STATE_LIMITS,
  type MonitorState,
  type MonitorStateEvent,
  type MonitorStateLimits,
  reduceMonitorState,
} from './monitor-state.js';
import { redactStorageEvent } from './redaction.js';
import type { StorageMonitorEvent } from './schemas.js';

const fold = (events: readonly MonitorStateEvent[], state = emptyMonitorState(), limits = MONITOR_STATE_LIMITS) =>
  events.reduce((s, e) => reduceMonitorState(s, e, limits), state);

/** What a page does with the gateway's answer: the state as JSON, parsed. */
const overTheWire = (state: MonitorState): MonitorState => JSON.parse(JSON.stringify(state)) as MonitorState;

const T0 = '2026-11-30T09:00:00Z';
const sipCreated = (uuid: string, name?: string): MonitorStateEvent => ({
  type: 'sip_created_event',
  value: { uuid, item: { uuid, status: 'queued', created_at: T0, ...(name === undefined ? {} : { name }) } },
});
const sipStatus = (uuid: string, status: 'processing' | 'ingested' | 'failed'): MonitorStateEvent => ({
  type: 'sip_status_updated_event',
  value: { uuid, status },
});
const workflowCreated = (uuid: string, sipUuid: string): MonitorStateEvent => ({
  type: 'sip_workflow_created_event',
  value: {
    uuid,
    item: {
      uuid,
      sip_uuid: sipUuid,
      temporal_id: `t-${uuid}`,
      type: 'create aip',
      status: 'in progress',
      started_at: T0,
    },
  },
});
const task = (uuid: string, workflowUuid: string, status: 'in progress' | 'done' | 'error', name = `task ${uuid}`) =>
  ({
    type: status === 'in progress' ? 'sip_task_created_event' : 'sip_task_updated_event',
    value: { uuid, item: { uuid, name, status, workflow_uuid: workflowUuid } },
  }) as MonitorStateEvent;

// Events over a handful of uuids, so that they hit the same SIPs, workflows, tasks and AIPs.
const POOL = ['u1', 'u2', 'u3', 'u4', 'u5'];
const LINKS = ['uuid', 'sip_uuid', 'workflow_uuid', 'aip_uuid', 'location_uuid'] as const;

function linked(event: { type: string; value: unknown }, picks: readonly string[]): MonitorStateEvent {
  const value = structuredClone(event.value) as Record<string, unknown>;
  const relink = (target: Record<string, unknown>, offset: number) => {
    LINKS.forEach((key, i) => {
      if (typeof target[key] === 'string') target[key] = picks[(i + offset) % picks.length];
    });
  };
  relink(value, 0);
  const item = value.item as Record<string, unknown> | undefined;
  if (item !== undefined) {
    relink(item, 0);
    const tasks = item.tasks as Record<string, unknown>[] | undefined;
    tasks?.forEach((t, i) => {
      relink(t, i + 1);
      t.workflow_uuid = item.uuid;
    });
  }
  const linkedEvent = { type: event.type, value } as MonitorStateEvent;
  return linkedEvent.type.startsWith('location_')
    ? (redactStorageEvent(linkedEvent as StorageMonitorEvent) as MonitorStateEvent)
    : linkedEvent;
}

const eventArb: fc.Arbitrary<MonitorStateEvent> = fc
  .tuple(
    fc.oneof(ingestEventArb, storageEventArb),
    fc.array(fc.constantFrom(...POOL), { minLength: LINKS.length, maxLength: LINKS.length }),
  )
  .map(([event, picks]) => linked(event, picks));
const eventsArb = fc.array(eventArb, { maxLength: 60 });

const SMALL: MonitorStateLimits = {
  sips: 3,
  workflowsPerItem: 2,
  tasksPerWorkflow: 2,
  batches: 2,
  aips: 2,
  locations: 2,
  activity: 4,
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

describe('monitor state reducer', () => {
  test('a SIP collects its workflow and tasks in order, and keeps a name that arrived after it was created', () => {
    const state = fold([
      sipCreated('s1'),
      sipStatus('s1', 'processing'),
      workflowCreated('w1', 's1'),
      task('t1', 'w1', 'in progress', 'Download package'),
      task('t2', 'w1', 'in progress', 'Unarchive package'),
      task('t1', 'w1', 'done', 'Download package'),
      {
        type: 'sip_updated_event',
        value: { uuid: 's1', item: { uuid: 's1', status: 'processing', created_at: T0, name: 'Minutes.zip' } },
      },
      // A later update without a name keeps it.
      { type: 'sip_updated_event', value: { uuid: 's1', item: { uuid: 's1', status: 'processing', created_at: T0 } } },
    ]);
    assert.equal(state.sips.length, 1);
    const sip = state.sips[0]!;
    assert.equal(sip.name, 'Minutes.zip');
    assert.equal(sip.status, 'processing');
    assert.deepEqual(
      sip.workflows.map((w) => [w.uuid, w.tasks.map((t) => [t.uuid, t.status])]),
      [
        [
          'w1',
          [
            ['t1', 'done'],
            ['t2', 'in progress'],
          ],
        ],
      ],
    );
    assert.deepEqual(
      state.activity.map((a) => a.kind),
      ['workflow-started', 'sip-status', 'sip-received'],
    );
  });

  test('collections are most recent first, and the least recently seen item goes past a cap', () => {
    const state = fold(
      ['a', 'b', 'c', 'd'].map((uuid) => sipCreated(uuid)),
      emptyMonitorState(),
      SMALL,
    );
    assert.deepEqual(
      state.sips.map((s) => s.uuid),
      ['d', 'c', 'b'],
    );
    // An update keeps the item where it is.
    const updated = reduceMonitorState(state, sipStatus('b', 'ingested'), SMALL);
    assert.deepEqual(
      updated.sips.map((s) => [s.uuid, s.status]),
      [
        ['d', 'queued'],
        ['c', 'queued'],
        ['b', 'ingested'],
      ],
    );
  });

  test('tasks past the per-workflow cap drop the oldest; a task of an unknown workflow changes nothing', () => {
    let state = fold([sipCreated('s'), workflowCreated('w', 's')], emptyMonitorState(), SMALL);
    state = fold(
      [task('t1', 'w', 'in progress'), task('t2', 'w', 'in progress'), task('t3', 'w', 'in progress')],
      state,
      SMALL,
    );
    assert.deepEqual(
      state.sips[0]!.workflows[0]!.tasks.map((t) => t.uuid),
      ['t2', 't3'],
    );
    assert.equal(reduceMonitorState(state, task('t9', 'nowhere', 'done'), SMALL), state);
  });

  test('a status heard before its SIP makes a placeholder that the SIP fills in later', () => {
    const state = fold([sipStatus('late', 'processing'), sipCreated('late', 'Late.zip'), sipStatus('late', 'failed')]);
    assert.equal(state.sips.length, 1);
    assert.equal(state.sips[0]!.name, 'Late.zip');
    assert.equal(state.sips[0]!.status, 'failed');
  });

  test('a failed task is noted against its SIP, by uuid, with the task name', () => {
    const state = fold([
      sipCreated('s'),
      workflowCreated('w', 's'),
      task('t', 'w', 'in progress', 'Verify checksums'),
      task('t', 'w', 'error', 'Verify checksums'),
    ]);
    assert.deepEqual(state.activity[0], { kind: 'task-failed', uuid: 's', status: 'error', label: 'Verify checksums' });
  });

  test('storage: AIP status, location and workflow tasks; a location event is kept as the redacted item', () => {
    const location = redactStorageEvent({
      type: 'location_created_event',
      value: {
        uuid: 'l',
        item: {
          uuid: 'l',
          name: 'Perpetual storage',
          source: 's3',
          purpose: 'aip_store',
          created_at: T0,
          config: { type: 's3', value: { bucket: 'b', region: 'r', secret: 'hush' } },
        },
      },
    });
    const state = fold([
      location,
      {
        type: 'aip_created_event',
        value: {
          uuid: 'a',
          item: { uuid: 'a', name: 'AIP one', status: 'processing', object_key: 'k', created_at: T0 },
        },
      },
      {
        type: 'aip_workflow_created_event',
        value: {
          uuid: 'aw',
          item: { uuid: 'aw', temporal_id: 't', type: 'upload aip', status: 'in progress', aip_uuid: 'a' },
        },
      },
      {
        type: 'aip_task_created_event',
        value: { uuid: 'at', item: { uuid: 'at', name: 'Copy', status: 'done', workflow_uuid: 'aw' } },
      },
      { type: 'aip_location_updated_event', value: { uuid: 'a', location_uuid: 'l' } },
      { type: 'aip_status_updated_event', value: { uuid: 'a', status: 'stored' } },
    ]);
    assert.equal(state.locations[0]!.name, 'Perpetual storage');
    assert.doesNotMatch(JSON.stringify(state), /hush/);
    const aip = state.aips[0]!;
    assert.deepEqual([aip.name, aip.status, aip.location_uuid], ['AIP one', 'stored', 'l']);
    assert.deepEqual(
      aip.workflows[0]!.tasks.map((t) => t.name),
      ['Copy'],
    );
  });

  test('pings, unknown types and malformed events leave the state object as it is', () => {
    const state = fold([sipCreated('s')]);
    for (const event of [
      { type: 'ingest_ping_event', value: { message: 'Ping' } },
      { type: 'storage_ping_event', value: {} },
      { type: 'sip_deleted_event', value: { uuid: 's' } },
      { type: 'sip_created_event', value: null },
      null,
    ]) {
      assert.equal(reduceMonitorState(state, event as unknown as MonitorStateEvent), state);
    }
  });

  test('property: folding in one go equals folding a prefix, sending it as JSON, and folding the rest', () => {
    fc.assert(
      fc.property(eventsArb, fc.nat(), fc.boolean(), (events, at, small) => {
        const limits = small ? SMALL : MONITOR_STATE_LIMITS;
        const split = at % (events.length + 1);
        const whole = fold(events, emptyMonitorState(), limits);
        const prefix = overTheWire(fold(events.slice(0, split), emptyMonitorState(), limits));
        const resumed = fold(events.slice(split), prefix, limits);
        assert.deepStrictEqual(resumed, overTheWire(whole));
        assert.deepStrictEqual(whole, overTheWire(whole));
      }),
      { numRuns: 300 },
    );
  });

  test('property: deterministic, and the input state and events are never changed', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const frozen = deepFreeze(structuredClone(events));
        const a = fold(frozen, deepFreeze(emptyMonitorState()));
        const b = fold(frozen, deepFreeze(emptyMonitorState()));
        assert.deepStrictEqual(a, b);
        // Every intermediate state survives the next event unchanged (frozen ones would throw).
        frozen.reduce((s, e) => reduceMonitorState(deepFreeze(s), e), emptyMonitorState());
      }),
      { numRuns: 200 },
    );
  });

  test('property: an event applied twice leaves the items as once (only the activity feed records both)', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const once = fold(events);
        const twice = fold(events.flatMap((e) => [e, e]));
        assert.deepStrictEqual({ ...twice, activity: [] }, { ...once, activity: [] });
      }),
      { numRuns: 200 },
    );
  });

  test('property: no collection ever exceeds its cap', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        let state = emptyMonitorState();
        for (const event of events) {
          state = reduceMonitorState(state, event, SMALL);
          assert.ok(state.sips.length <= SMALL.sips);
          assert.ok(state.aips.length <= SMALL.aips);
          assert.ok(state.batches.length <= SMALL.batches);
          assert.ok(state.locations.length <= SMALL.locations);
          assert.ok(state.activity.length <= SMALL.activity);
          for (const owner of [...state.sips, ...state.aips]) {
            assert.ok(owner.workflows.length <= SMALL.workflowsPerItem);
            for (const workflow of owner.workflows) assert.ok(workflow.tasks.length <= SMALL.tasksPerWorkflow);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('property: updates of different SIPs commute as far as each SIP goes (only the order of rows differs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('x', 'y'), fc.constantFrom('processing', 'ingested', 'failed'))),
        (updates) => {
          const events = updates.map(([uuid, status]) => sipStatus(uuid, status as 'processing'));
          const xs = events.filter((e) => (e.value as { uuid: string }).uuid === 'x');
          const ys = events.filter((e) => (e.value as { uuid: string }).uuid === 'y');
          const bySip = (s: MonitorState) => Object.fromEntries(s.sips.map((sip) => [sip.uuid, sip]));
          assert.deepStrictEqual(bySip(fold(events)), bySip(fold([...ys, ...xs])));
        },
      ),
    );
  });
});
