import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INGEST_EVENT_TYPES, STORAGE_EVENT_TYPES } from '../monitor/schemas.js';
import { eventTypeFilter, MONITOR_EVENT_ACCESS } from './event-access.js';

const ALL_TYPES = [...INGEST_EVENT_TYPES, ...STORAGE_EVENT_TYPES];
const PINGS = ['ingest_ping_event', 'storage_ping_event'];

/** The types each user may see, straight from the reference table (one line per row). */
const visible = (attributes: readonly string[] | undefined): string[] =>
  ALL_TYPES.filter((type) => eventTypeFilter(attributes)(type));

describe('event access table', () => {
  it('covers every event type of the catalogue, and nothing else', () => {
    assert.deepEqual(Object.keys(MONITOR_EVENT_ACCESS).sort(), [...ALL_TYPES].sort());
  });

  const cases: [attributes: readonly string[] | undefined, expected: readonly string[]][] = [
    [undefined, ALL_TYPES],
    [['*'], ALL_TYPES],
    [[], PINGS],
    [['ingest:*'], [...INGEST_EVENT_TYPES, 'storage_ping_event']],
    [['storage:*'], ['ingest_ping_event', ...STORAGE_EVENT_TYPES]],
    [
      ['ingest:sips:list'],
      ['ingest_ping_event', 'sip_created_event', 'sip_updated_event', 'sip_status_updated_event', 'storage_ping_event'],
    ],
    [
      ['ingest:sips:read'],
      ['ingest_ping_event', 'sip_updated_event', 'sip_status_updated_event', 'storage_ping_event'],
    ],
    [
      ['ingest:sips:workflows:list'],
      [
        'ingest_ping_event',
        'sip_workflow_created_event',
        'sip_workflow_updated_event',
        'sip_task_created_event',
        'sip_task_updated_event',
        'storage_ping_event',
      ],
    ],
    [['ingest:sips:*'], [...INGEST_EVENT_TYPES.filter((t) => !t.startsWith('batch_')), 'storage_ping_event']],
    [
      ['ingest:batches:list'],
      ['ingest_ping_event', 'batch_created_event', 'batch_updated_event', 'storage_ping_event'],
    ],
    [['ingest:batches:read'], ['ingest_ping_event', 'batch_updated_event', 'storage_ping_event']],
    [
      ['storage:locations:list'],
      ['ingest_ping_event', 'storage_ping_event', 'location_created_event', 'location_updated_event'],
    ],
    [['storage:locations:read'], ['ingest_ping_event', 'storage_ping_event', 'location_updated_event']],
    [
      ['storage:aips:list'],
      [
        'ingest_ping_event',
        'storage_ping_event',
        'aip_created_event',
        'aip_updated_event',
        'aip_status_updated_event',
        'aip_location_updated_event',
      ],
    ],
    [
      ['storage:aips:read'],
      [
        'ingest_ping_event',
        'storage_ping_event',
        'aip_updated_event',
        'aip_status_updated_event',
        'aip_location_updated_event',
      ],
    ],
    [
      ['storage:aips:workflows:list'],
      [
        'ingest_ping_event',
        'storage_ping_event',
        'aip_workflow_created_event',
        'aip_workflow_updated_event',
        'aip_task_created_event',
        'aip_task_updated_event',
      ],
    ],
    [['ingest:sips:upload', 'storage:aips:move'], PINGS],
  ];
  for (const [attributes, expected] of cases) {
    it(`${JSON.stringify(attributes)} sees ${expected.length} types`, () => {
      assert.deepEqual(visible(attributes).sort(), [...expected].sort());
    });
  }

  it('never sends a type missing from the table, to anyone with attributes', () => {
    assert.equal(eventTypeFilter(['*'])('pipeline_created_event'), false);
    assert.equal(eventTypeFilter(['*'])('__proto__'), false);
    assert.equal(eventTypeFilter(['*'])('toString'), false);
    assert.equal(eventTypeFilter(undefined)('pipeline_created_event'), true, 'no attributes, no checks (Enduro)');
  });

  it('decides each type once per filter and then only looks it up', () => {
    let reads = 0;
    const table = new Proxy(
      { a_event: [['x:list']], b_event: 'always' as const },
      {
        get(target, key, receiver) {
          reads += 1;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    const allowed = eventTypeFilter(['x:*'], table);
    for (let i = 0; i < 1000; i++) {
      assert.equal(allowed('a_event'), true);
      assert.equal(allowed('b_event'), true);
      assert.equal(allowed('c_event'), false);
    }
    assert.equal(reads, 2, 'the table is read once per known type, never again');
  });
});
