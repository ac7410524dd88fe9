/**
 * JetStream benchmark: Tidings' JetStream backend (ingest codec, validation
 * on, a message ID per event, the stream's acknowledgement awaited in the
 * background) against the raw `@nats-io/jetstream` client (`js.publish` with
 * JSON, acknowledgements awaited; an ordered consumer with JSON.parse), on the
 * `sip_updated_event` wire fixture (712 bytes), end to end: publish → stored
 * → consumed, in one process.
 *
 *   npm run bench:jetstream
 *
 * Both run on a private three-node cluster (test/support/nats-server.ts),
 * once on an R1 stream and once on an R3 stream, each run on a fresh stream.
 * Both get the same pacing: WINDOW events published in one tick, and before
 * the next window the publisher waits until the consumer has received all
 * but the last IN_FLIGHT_WINDOWS - 1 windows. Every run checks that every
 * event arrived once, in order; a run that stalls fails instead of waiting.
 *
 * Candidates run in interleaved rounds (`--rounds`, default ROUNDS); every
 * figure is the median (min–max) over the rounds, and the ratio is taken
 * within a round.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { newIngestEventServiceNatsStream } from '../src/monitor/nats-stream-services.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
import { startNatsCluster } from '../test/support/nats-server.js';
import {
  describeLoad,
  describeSetup,
  failOnStall,
  formatRate,
  interleaved,
  median,
  roundsOption,
  spreadOf,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(3);
const EVENTS = 20_000;
const WINDOW = 500;
const IN_FLIGHT_WINDOWS = 4;
const STALL_MS = 15_000;

const FIXTURE = new URL('../test/fixtures/ingest/sip_updated_event.full.json', import.meta.url);
const FIXTURE_TEXT = readFileSync(FIXTURE, 'utf8').trim();
type SipUpdated = Extract<MonitorEvent, { type: 'sip_updated_event' }>;
const TEMPLATE = (JSON.parse(FIXTURE_TEXT) as { value: SipUpdated }).value;

/** The fixture event with `item.file_count` carrying the sequence number; a fresh object per call. */
function makeEvent(seq: number): SipUpdated {
  const { value } = TEMPLATE;
  return { type: 'sip_updated_event', value: { uuid: value.uuid, item: { ...value.item, file_count: seq } } };
}

function seqOf(event: MonitorEvent): number {
  return event.type === 'sip_updated_event' ? (event.value.item.file_count ?? -2) : -2;
}

type Candidate = 'tidings' | 'raw';
const LABEL: Record<Candidate, string> = {
  tidings: 'Tidings createNatsStreamEventService (ingest codec, validation, message IDs)',
  raw: 'raw @nats-io/jetstream: js.publish + ordered consumer, JSON',
};

/** Publishes in windows, each after the consumer has caught up to within IN_FLIGHT_WINDOWS - 1 windows. */
async function paced(publishWindow: (from: number, to: number) => void, received: () => number): Promise<void> {
  for (let from = 0; from < EVENTS; from += WINDOW) {
    while (received() < from - (IN_FLIGHT_WINDOWS - 1) * WINDOW) await new Promise(setImmediate);
    publishWindow(from, Math.min(from + WINDOW, EVENTS));
  }
}

/** One run: events per second end to end, and this process' CPU time per event (less moved by the machine's load). */
interface Run {
  readonly rate: number;
  readonly cpuMicros: number;
}

function measured(started: number, cpuAtStart: NodeJS.CpuUsage): Run {
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  return { rate: (EVENTS / elapsed) * 1_000, cpuMicros: (cpu.user + cpu.system) / EVENTS };
}

async function runTidings(servers: string[], replicas: number): Promise<Run> {
  const subject = `bench.${randomUUID()}`;
  const service = newIngestEventServiceNatsStream(undefined, undefined, { natsAddress: servers, subject, replicas });
  try {
    const sub = await service.subscribe({ bufferSize: WINDOW * (IN_FLIGHT_WINDOWS + 1) });
    let received = 0;
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    await failOnStall(
      async () => {
        const consuming = (async () => {
          while (received < EVENTS) {
            const result = await sub.next();
            if (result.done) throw new Error('subscription ended');
            if (seqOf(result.value) !== received) throw new Error(`out of order at ${received}`);
            received++;
          }
        })();
        await paced(
          (from, to) => {
            for (let seq = from; seq < to; seq++) service.publish(makeEvent(seq));
          },
          () => received,
        );
        await consuming;
      },
      () => received,
      STALL_MS,
      'tidings',
    );
    const run = measured(started, cpuAtStart);
    if (sub.dropped !== 0 || sub.takeGap() !== undefined || service.stats.publishFailed !== 0) {
      throw new Error('tidings lost events');
    }
    return run;
  } finally {
    await service.close();
  }
}

async function runRaw(servers: string[], replicas: number): Promise<Run> {
  const subject = `bench.${randomUUID()}`;
  const stream = subject.replaceAll('.', '_');
  const nc = await connect({ servers });
  try {
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: replicas, max_msgs: 100_000 });
    const consumer = await js.consumers.get(stream, { opt_start_seq: 1 });
    let received = 0;
    let failure: Error | undefined;
    const messages = await consumer.consume({
      max_messages: 1_000,
      callback: (msg) => {
        const wire = msg.json<{ value: SipUpdated }>();
        if (wire.value.value.item.file_count !== received) failure ??= new Error(`out of order at ${received}`);
        received++;
      },
    });
    const acks: Promise<unknown>[] = [];
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    await failOnStall(
      async () => {
        await paced(
          (from, to) => {
            for (let seq = from; seq < to; seq++) {
              acks.push(js.publish(subject, JSON.stringify({ value: makeEvent(seq) })));
            }
          },
          () => received,
        );
        while (received < EVENTS) await new Promise(setImmediate);
        await Promise.all(acks);
      },
      () => received,
      STALL_MS,
      'raw',
    );
    const run = measured(started, cpuAtStart);
    messages.stop();
    await jsm.streams.delete(stream);
    if (failure) throw failure;
    return run;
  } finally {
    await nc.close();
  }
}

async function main(): Promise<void> {
  const cluster = await startNatsCluster();
  const load = watchLoad();
  try {
    console.log(describeSetup('Tidings JetStream benchmark'));
    console.log(
      `${EVENTS.toLocaleString('en-US')} events of ${FIXTURE_TEXT.length} bytes per run, windows of ${WINDOW}, ` +
        `${IN_FLIGHT_WINDOWS} in flight; three-node nats-server cluster on loopback; ${ROUNDS} interleaved rounds; ` +
        'median (min–max) over the rounds\n',
    );
    const rows: string[][] = [];
    const verdicts = new Verdicts();
    for (const replicas of [1, 3]) {
      const results = await interleaved(
        ROUNDS,
        ['tidings', 'raw'] as Candidate[],
        (candidate) => (candidate === 'tidings' ? runTidings : runRaw)(cluster.urls, replicas),
        (candidate, round, run) =>
          console.error(
            `R${replicas} round ${round + 1} ${candidate}: ${formatRate(run.rate)}, ${run.cpuMicros.toFixed(0)} µs CPU/event`,
          ),
      );
      const tidings = results.get('tidings') ?? [];
      const raw = results.get('raw') ?? [];
      const ratios = tidings.map((run, i) => run.rate / (raw[i]?.rate ?? Number.NaN));
      const cpuRatios = tidings.map((run, i) => run.cpuMicros / (raw[i]?.cpuMicros ?? Number.NaN));
      const micros = (value: number): string => `${value.toFixed(0)} µs`;
      for (const [candidate, runs] of [
        ['tidings', tidings],
        ['raw', raw],
      ] as const) {
        rows.push([
          `R${replicas}`,
          LABEL[candidate],
          spreadOf(
            runs.map((run) => run.rate),
            formatRate,
          ),
          candidate === 'raw' ? '1.00x' : spreadOf(ratios, times),
          spreadOf(
            runs.map((run) => run.cpuMicros),
            micros,
          ),
          candidate === 'raw' ? '1.00x' : spreadOf(cpuRatios, times),
        ]);
      }
      const ratio = median(ratios);
      verdicts.check(`R${replicas}: end to end ≥ 0.7x the raw client`, times(ratio), ratio >= 0.7);
      verdicts.note(
        `(R${replicas}: load-independent cross-check, Node CPU per event: ${times(median(cpuRatios))} the raw client's)`,
      );
    }
    console.log('End-to-end throughput, publish → stored → consumed, events/s\n');
    console.log(
      table(['stream', 'candidate', 'events/s', 'vs raw', 'CPU/event (Node)', 'vs raw'], rows, [
        false,
        false,
        true,
        true,
        true,
        true,
      ]),
    );
    console.log(`\n${describeLoad(load.stop())}`);
    verdicts.print();
  } finally {
    await cluster.close();
  }
}

await main();
