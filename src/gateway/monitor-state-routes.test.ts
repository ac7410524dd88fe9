// GET /ingest/state and /storage/state over real HTTP, on the in-memory backend (which replays).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { openSse } from '../../test/support/sse-client.js';
import type { Logger } from '../core/logger.js';
import { emptyMonitorState, type MonitorStateEvent, reduceMonitorState } from '../monitor/monitor-state.js';
import { redactStorageEvent } from '../monitor/redaction.js';
import type { MonitorEvent, StorageMonitorEvent } from '../monitor/schemas.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway, type MonitorGatewayOptions } from './monitor-gateway.js';
import type { MonitorSnapshot } from './monitor-snapshot.js';

const T0 = '2026-11-30T09:00:00Z';
const SECRET = `planted-secret-${randomUUID()}`;

function sipEvents(uuid: string, name: string): MonitorEvent[] {
  const workflow = `${uuid}-w`;
  return [
    { type: 'sip_created_event', value: { uuid, item: { uuid, name, status: 'queued', created_at: T0 } } },
    { type: 'sip_status_updated_event', value: { uuid, status: 'processing' } },
    {
      type: 'sip_workflow_created_event',
      value: {
        uuid: workflow,
        item: {
          uuid: workflow,
          sip_uuid: uuid,
          temporal_id: 't',
          type: 'create aip',
          status: 'in progress',
          started_at: T0,
        },
      },
    },
    {
      type: 'sip_task_created_event',
      value: {
        uuid: `${uuid}-t`,
        item: { uuid: `${uuid}-t`, name: 'Download', status: 'done', workflow_uuid: workflow },
      },
    },
  ];
}

const location: StorageMonitorEvent = {
  type: 'location_created_event',
  value: {
    uuid: 'loc',
    item: {
      uuid: 'loc',
      name: 'Perpetual storage',
      source: 's3',
      purpose: 'aip_store',
      created_at: T0,
      config: { type: 's3', value: { bucket: 'b', region: 'r', key: SECRET, secret: SECRET } },
    },
  },
};

const fold = (events: readonly MonitorStateEvent[]) =>
  events.reduce((s, e) => reduceMonitorState(s, e), emptyMonitorState());

interface Setup {
  readonly gateway: Gateway;
  readonly url: string;
  readonly ingest: ReturnType<typeof newIngestEventServiceInMem>;
  readonly storage: ReturnType<typeof newStorageEventServiceInMem>;
}

async function setup(options: Partial<MonitorGatewayOptions> = {}, history?: false): Promise<Setup> {
  const ingest = newIngestEventServiceInMem(history === false ? { history: false } : {});
  const storage = newStorageEventServiceInMem(history === false ? { history: false } : {});
  const gateway = createMonitorGateway({
    ingest,
    storage,
    tokens: [
      { token: 'all' },
      { token: 'sips-only', attributes: ['ingest:sips:list'] },
      { token: 'storage-only', scopes: ['storage'] },
    ],
    state: { cacheMs: 0 },
    ...options,
  });
  return { gateway, url: await gateway.listen(), ingest, storage };
}

async function teardown(s: Setup | undefined): Promise<void> {
  await s?.gateway.close();
  await Promise.all([s?.ingest.close(), s?.storage.close()]);
}

async function state(url: string, path: string, token = 'all'): Promise<MonitorSnapshot> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as MonitorSnapshot;
}

describe('monitor state routes', () => {
  let s: Setup;
  const ingestEvents = [...sipEvents('s1', 'First.zip'), ...sipEvents('s2', 'Second.zip')];

  before(async () => {
    s = await setup();
    for (const event of ingestEvents) await s.ingest.publishConfirmed(event);
    await s.storage.publishConfirmed(location);
  });
  after(() => teardown(s));

  it('answers the state folded from the whole history, with the position of its last event', async () => {
    // A subscription from the oldest event, read to its end, names the same last position.
    const reader = await s.ingest.subscribe({ from: 'oldest' });
    for (let i = 0; i < ingestEvents.length; i++) await reader.next();
    const snapshot = await state(s.url, '/ingest/state');
    assert.deepEqual(snapshot.state, fold(ingestEvents));
    assert.equal(snapshot.position, reader.position);
    assert.equal(snapshot.events, ingestEvents.length);
    assert.equal(snapshot.complete, true);
    assert.deepEqual(
      snapshot.state.sips.map((sip) => [sip.name, sip.workflows[0]?.tasks.length]),
      [
        ['Second.zip', 1],
        ['First.zip', 1],
      ],
    );
    await reader.close();
  });

  it('a stream resumed from the state’s position brings exactly what followed: folded, the same as the whole history', async () => {
    const ingest = newIngestEventServiceInMem();
    const gateway = createMonitorGateway({ ingest, tokens: [{ token: 'all' }], state: { cacheMs: 0 } });
    try {
      const url = await gateway.listen();
      const before = sipEvents('r1', 'Before.zip');
      const meanwhile = sipEvents('r2', 'Meanwhile.zip');
      const afterwards = sipEvents('r3', 'After.zip');
      for (const event of before) await ingest.publishConfirmed(event);
      const snapshot = await state(url, '/ingest/state');
      // Published between the page's state request and its stream: the resume must bring them.
      for (const event of meanwhile) await ingest.publishConfirmed(event);
      const client = await openSse(`${url}/ingest/monitor`, {
        authorization: 'Bearer all',
        'last-event-id': snapshot.position ?? '',
      });
      try {
        for (const event of afterwards) await ingest.publishConfirmed(event);
        const isEvent = (m: { event: string; data: string }) => m.event === 'message' && !m.data.includes('ping_event');
        const expected = meanwhile.length + afterwards.length;
        await client.waitFor((messages) => messages.filter(isEvent).length >= expected);
        const received = client.messages
          .filter(isEvent)
          .map((m) => (JSON.parse(m.data) as { value: MonitorStateEvent }).value);
        assert.equal(received.length, expected);
        const page = received.reduce((st, e) => reduceMonitorState(st, e), snapshot.state);
        assert.deepEqual(page, fold([...before, ...meanwhile, ...afterwards]));
      } finally {
        client.close();
      }
    } finally {
      await gateway.close();
      await ingest.close();
    }
  });

  it('serves the page the same reducer: /assets/monitor-state.js folds as the module the gateway uses', async () => {
    const response = await fetch(`${s.url}/assets/monitor-state.js`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/);
    const source = await response.text();
    assert.doesNotMatch(source, /^\s*import\s/m, 'the browser module imports nothing');
    const served = (await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)) as {
      emptyMonitorState: typeof emptyMonitorState;
      reduceMonitorState: typeof reduceMonitorState;
    };
    const events = [...ingestEvents, ...sipEvents('s1', 'Renamed.zip')];
    const inPage = events.reduce((st, e) => served.reduceMonitorState(st, e), served.emptyMonitorState());
    assert.deepEqual(inPage, fold(events));
  });

  it('an empty history answers no position; resuming from the oldest event then brings everything after it', async () => {
    const ingest = newIngestEventServiceInMem();
    const gateway = createMonitorGateway({ ingest, tokens: [{ token: 'all' }], state: { cacheMs: 0 } });
    try {
      const url = await gateway.listen();
      const snapshot = await state(url, '/ingest/state');
      assert.equal(snapshot.position, null);
      assert.deepEqual(snapshot.state, emptyMonitorState());
      // Published between the state and the stream: the page resumes from 'oldest' (what the dashboard does).
      const meanwhile = sipEvents('e1', 'Meanwhile.zip');
      for (const event of meanwhile) await ingest.publishConfirmed(event);
      const client = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer all', 'last-event-id': 'oldest' });
      try {
        const isEvent = (m: { event: string; data: string }) => m.event === 'message' && !m.data.includes('ping_event');
        await client.waitFor((messages) => messages.filter(isEvent).length >= meanwhile.length);
        assert.ok(!client.messages.some((m) => m.event === 'gap'), 'no gap');
        const received = client.messages
          .filter(isEvent)
          .map((m) => (JSON.parse(m.data) as { value: MonitorStateEvent }).value);
        assert.deepEqual(
          received.reduce((st, e) => reduceMonitorState(st, e), snapshot.state),
          fold(meanwhile),
        );
      } finally {
        client.close();
      }
    } finally {
      await gateway.close();
      await ingest.close();
    }
  });

  it('storage state carries the location as the stream shows it: redacted', async () => {
    const snapshot = await state(s.url, '/storage/state');
    assert.deepEqual(snapshot.state, fold([redactStorageEvent(location)]));
    assert.equal(snapshot.state.locations[0]?.name, 'Perpetual storage');
    assert.doesNotMatch(JSON.stringify(snapshot), new RegExp(SECRET));
  });

  it('filters by the principal’s attributes exactly as the stream: no workflows without ingest:sips:workflows:list', async () => {
    const snapshot = await state(s.url, '/ingest/state', 'sips-only');
    assert.deepEqual(
      snapshot.state.sips.map((sip) => [sip.name, sip.status, sip.workflows.length]),
      [
        ['Second.zip', 'processing', 0],
        ['First.zip', 'processing', 0],
      ],
    );
    // The position covers the events it may not see: its stream resumes after them too.
    assert.equal(snapshot.position, (await state(s.url, '/ingest/state')).position);
    const storage = await state(s.url, '/storage/state', 'sips-only');
    assert.deepEqual(storage.state.locations, []);
  });

  it('refuses a missing, unknown or out-of-scope token like the stream does', async () => {
    const none = await fetch(`${s.url}/ingest/state`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
    const wrong = await fetch(`${s.url}/ingest/state`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const scoped = await fetch(`${s.url}/ingest/state`, { headers: { authorization: 'Bearer storage-only' } });
    assert.equal(scoped.status, 403);
    assert.equal((await state(s.url, '/storage/state', 'storage-only')).state.locations.length, 1);
  });
});

describe('monitor state routes: bounds and backends', () => {
  let s: Setup | undefined;
  // Each test's gateway and services go, whatever the test did.
  afterEach(async () => {
    await teardown(s);
    s = undefined;
  });

  it('stops at maxEvents, at a position it fully reflects, and says it is not complete', async () => {
    s = await setup({ state: { maxEvents: 3, cacheMs: 0 } });
    const events = [...sipEvents('a', 'A.zip'), ...sipEvents('b', 'B.zip')];
    const reader = await s.ingest.subscribe({ from: 'oldest' });
    for (const event of events) await s.ingest.publishConfirmed(event);
    for (let i = 0; i < 3; i++) await reader.next();
    const snapshot = await state(s.url, '/ingest/state');
    assert.equal(snapshot.events, 3);
    assert.equal(snapshot.complete, false);
    assert.equal(snapshot.position, reader.position);
    assert.deepEqual(snapshot.state, fold(events.slice(0, 3)));
    await reader.close();
  });

  it('keeps the answer under maxBytes by leaving out the oldest SIPs', async () => {
    s = await setup({ state: { maxBytes: 3000, cacheMs: 0 } });
    for (let i = 0; i < 20; i++) for (const e of sipEvents(`sip-${i}`, `Sip-${i}.zip`)) s.ingest.publish(e);
    const response = await fetch(`${s.url}/ingest/state`, { headers: { authorization: 'Bearer all' } });
    const body = await response.text();
    assert.ok(Buffer.byteLength(body) <= 3000, `${Buffer.byteLength(body)} bytes`);
    const snapshot = JSON.parse(body) as MonitorSnapshot;
    assert.equal(snapshot.complete, false);
    assert.ok(snapshot.state.sips.length > 0 && snapshot.state.sips.length < 20);
    // The newest stay.
    assert.equal(snapshot.state.sips[0]?.name, 'Sip-19.zip');
  });

  it('reuses an answer within cacheMs for clients allowed the same events, and reads afresh after', async () => {
    s = await setup({ state: { cacheMs: 60_000 } });
    for (const e of sipEvents('c1', 'C1.zip')) await s.ingest.publishConfirmed(e);
    const first = await state(s.url, '/ingest/state');
    for (const e of sipEvents('c2', 'C2.zip')) await s.ingest.publishConfirmed(e);
    assert.deepEqual(await state(s.url, '/ingest/state'), first);
    // Another set of allowed types is another answer, read now.
    assert.equal((await state(s.url, '/ingest/state', 'sips-only')).state.sips.length, 2);
  });

  it('on a backend without history (like pub/sub) answers from the gateway’s window, in its positions', async () => {
    s = await setup({}, false);
    // The window fills from listen(): what was published since is in the state.
    await s.ingest.publishConfirmed(sipEvents('x', 'X.zip')[0]!);
    const snapshot = await state(s.url, '/ingest/state');
    assert.deepEqual(
      snapshot.state.sips.map((sip) => sip.name),
      ['X.zip'],
    );
    assert.match(snapshot.position ?? '', /^gw\./);
    assert.equal(snapshot.complete, true);
  });

  it('an event that cannot be encoded (untyped JavaScript published it) is skipped, counted and logged', async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn(fields, message) {
        if (message.startsWith('monitor state')) warnings.push(fields);
      },
      error() {},
    };
    s = await setup({ state: { cacheMs: 0 }, logger });
    const good = sipEvents('g', 'Good.zip');
    await s.ingest.publishConfirmed(good[0]!);
    await s.ingest.publishConfirmed({ type: 'bogus_event', value: {} } as unknown as MonitorEvent);
    for (const event of good.slice(1)) await s.ingest.publishConfirmed(event);
    const snapshot = await state(s.url, '/ingest/state');
    assert.equal(snapshot.skipped, 1);
    assert.equal(snapshot.complete, false);
    assert.equal(snapshot.events, good.length + 1);
    assert.deepEqual(snapshot.state, fold(good));
    assert.deepEqual(warnings, [{ stream: 'ingest', skipped: 1 }]);
  });

  it('state: false serves no state route', async () => {
    s = await setup({ state: false });
    const response = await fetch(`${s.url}/ingest/state`, { headers: { authorization: 'Bearer all' } });
    assert.equal(response.status, 404);
  });

  it('rejects invalid state options with a TypeError naming them', () => {
    const ingest = newIngestEventServiceInMem();
    assert.throws(
      () => createMonitorGateway({ ingest, auth: false, state: { maxEvents: 0 } }),
      /options\.state\.maxEvents must be a positive integer/,
    );
    assert.throws(
      () => createMonitorGateway({ ingest, auth: false, state: { cacheMs: -1 } }),
      /options\.state\.cacheMs/,
    );
  });
});
