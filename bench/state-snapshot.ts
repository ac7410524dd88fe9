/**
 * What `GET /ingest/state` costs: folding a full in-memory history (10,000
 * ingest events, about 450 SIPs walked through Enduro's workflow) into the
 * monitor state.
 *
 *   npm run bench:state
 *
 * Compares, in interleaved rounds (the harness' rotated order; median and
 * min–max), reading the history alone (the floor: what any resume reads),
 * folding the event objects with the reducer, folding each event as its
 * stream would send it (wire JSON, parsed: what the route does, for
 * redaction's sake), the route over HTTP with no answer reuse, and the route
 * answering from its short cache.
 *
 * Takes `--rounds N` (default 5).
 */
import { randomUUID } from 'node:crypto';
import type { EventService } from '../src/core/contract.js';
import { createMonitorGateway } from '../src/gateway/monitor-gateway.js';
import { ingestCodec } from '../src/monitor/codec.js';
import {
  emptyMonitorState,
  type MonitorState,
  type MonitorStateEvent,
  reduceMonitorState,
} from '../src/monitor/monitor-state.js';
import { publishIngestEventConfirmed } from '../src/monitor/publish-helpers.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
import { newIngestEventServiceInMem } from '../src/monitor/services.js';
import {
  describeLoad,
  describeSetup,
  int,
  interleaved,
  median,
  roundsOption,
  spreadOf,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(5);
const EVENTS = 10_000;
const TOKEN = 'bench';
const TASKS = [
  'Download',
  'Unarchive',
  'Classify',
  'Validate structure',
  'Checksums',
  'Identify',
  'Validate',
  'Create AIP',
];

async function fillHistory(ingest: EventService<MonitorEvent>): Promise<number> {
  let published = 0;
  const at = new Date().toISOString();
  const publish = async <K extends MonitorEvent['type']>(
    type: K,
    value: Extract<MonitorEvent, { type: K }>['value'],
  ): Promise<void> => {
    await publishIngestEventConfirmed(ingest, type as never, value as never);
    published++;
  };
  while (published < EVENTS) {
    const uuid = randomUUID();
    const workflow = randomUUID();
    const sip = { uuid, name: `Deposit-${published}.zip`, status: 'queued' as const, created_at: at, file_count: 42 };
    await publish('sip_created_event', { uuid, item: sip });
    await publish('sip_status_updated_event', { uuid, status: 'processing' });
    const wf = {
      uuid: workflow,
      temporal_id: randomUUID(),
      type: 'create aip' as const,
      sip_uuid: uuid,
      started_at: at,
    };
    await publish('sip_workflow_created_event', { uuid: workflow, item: { ...wf, status: 'in progress' } });
    for (const name of TASKS) {
      const task = { uuid: randomUUID(), name, workflow_uuid: workflow, started_at: at };
      await publish('sip_task_created_event', { uuid: task.uuid, item: { ...task, status: 'in progress' } });
      await publish('sip_task_updated_event', { uuid: task.uuid, item: { ...task, status: 'done', completed_at: at } });
    }
    await publish('sip_workflow_updated_event', { uuid: workflow, item: { ...wf, status: 'done', completed_at: at } });
    await publish('sip_status_updated_event', { uuid, status: 'ingested' });
    await publish('sip_updated_event', { uuid, item: { ...sip, status: 'ingested', completed_at: at } });
  }
  return published;
}

/** Reads the whole history as the route does; `fold` sees each event. */
async function readAll(ingest: EventService<MonitorEvent>, fold: (event: MonitorEvent) => void): Promise<number> {
  const sub = await ingest.subscribe({ from: 'oldest', bufferSize: 1024 });
  let read = 0;
  while (sub.replaying || sub.pending > 0) {
    const result = await sub.next();
    if (result.done) break;
    fold(result.value);
    read++;
  }
  await sub.close();
  return read;
}

const ingest = newIngestEventServiceInMem({ history: { maxEvents: 20_000 } });
const published = await fillHistory(ingest);
const uncached = createMonitorGateway({ ingest, tokens: [{ token: TOKEN }], state: { cacheMs: 0 } });
const cached = createMonitorGateway({ ingest, tokens: [{ token: TOKEN }], state: { cacheMs: 3_600_000 } });
const uncachedUrl = await uncached.listen();
const cachedUrl = await cached.listen();
let answerBytes = 0;
let sips = 0;

const get = async (url: string): Promise<void> => {
  const response = await fetch(`${url}/ingest/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /ingest/state: ${response.status} ${body}`);
  answerBytes = Buffer.byteLength(body);
  sips = (JSON.parse(body) as { state: MonitorState }).state.sips.length;
};

const candidates: Record<string, () => Promise<void>> = {
  'read the history only (floor)': async () => {
    await readAll(ingest, () => {});
  },
  'read + fold event objects': async () => {
    let state = emptyMonitorState();
    await readAll(ingest, (event) => {
      state = reduceMonitorState(state, event);
    });
  },
  'read + fold as the stream sends (the route)': async () => {
    let state = emptyMonitorState();
    await readAll(ingest, (event) => {
      state = reduceMonitorState(state, JSON.parse(ingestCodec.encode(event)).value as MonitorStateEvent);
    });
  },
  'GET /ingest/state, no reuse': () => get(uncachedUrl),
  'GET /ingest/state, cached answer': () => get(cachedUrl),
};
const names = Object.keys(candidates);
await get(cachedUrl); // The cached gateway's answer exists before its rounds.

console.log(describeSetup('Tidings state-endpoint benchmark'));
const load = watchLoad();
const samples = await interleaved(ROUNDS, names, async (name) => {
  const start = process.hrtime.bigint();
  await candidates[name]!();
  return Number(process.hrtime.bigint() - start) / 1e6;
});
console.log(
  `\n${int(published)} retained ingest events; median (min–max) of ${ROUNDS} interleaved rounds; answer ${int(answerBytes)} bytes, ${sips} SIPs (the cap)\n`,
);
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const perEvent = (value: number): string => `${((value * 1000) / published).toFixed(2)} µs`;
console.log(
  table(
    ['candidate', 'per read', 'per event'],
    names.map((name) => [name, spreadOf(samples.get(name)!, ms), perEvent(median(samples.get(name)!))]),
  ),
);
console.log(`\n${describeLoad(load.stop())}`);

const ROUTE = 'GET /ingest/state, no reuse';
const CACHED = 'GET /ingest/state, cached answer';
const reuse = samples.get(ROUTE)!.map((value, round) => value / samples.get(CACHED)![round]!);
const verdicts = new Verdicts();
verdicts.check(
  `uncached state of ${int(published)} events answered within 1 s (median)`,
  spreadOf(samples.get(ROUTE)!, ms),
  median(samples.get(ROUTE)!) < 1000,
);
verdicts.check(
  'a cached answer at least 10x cheaper than a read (median of per-round ratios)',
  spreadOf(reuse, times),
  median(reuse) >= 10,
);
verdicts.check('the answer fits the default 4 MiB bound', `${int(answerBytes)} bytes`, answerBytes <= 4 * 1024 * 1024);
verdicts.print();
await Promise.all([uncached.close(), cached.close()]);
await ingest.close();
