/**
 * Core NATS benchmark: Tidings' core NATS backend (ingest codec, validation
 * on) against the raw `@nats-io/transport-node` client with the same JSON
 * payload (the `sip_updated_event` wire fixture), and against Tidings' own
 * Redis pub/sub backend, all in one run.
 *
 *   npm run bench:nats
 *
 * 1. End-to-end throughput publisher → subscriber, same process and two
 *    processes (publisher in a forked child), with the pacing of
 *    `bench:redis`: WINDOW events published in one tick, then the publisher
 *    waits until the subscriber has received all but the last
 *    IN_FLIGHT_WINDOWS - 1 windows. Every run checks that every event
 *    arrived, in order; loss is reported in a column, never hidden.
 * 2. Publish-to-receive latency at a steady 5,000 events/s (a 1 ms timer
 *    publishes what is due), from `publish()` to the decoded event in the
 *    consumer's hands, same process.
 *
 * Runs are in interleaved rounds (`--rounds`, default ROUNDS), each in a
 * fresh process; figures are medians over the rounds with their spread,
 * ratios taken within a round. A private `nats-server` and `redis-server`
 * are started on free ports.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Subscription } from '../src/core/contract.js';
import { newIngestEventServiceNats } from '../src/monitor/nats-services.js';
import { newIngestEventServiceRedis } from '../src/monitor/redis-services.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { startRedisServer } from '../test/support/redis-server.js';
import {
  describeLoad,
  describeSetup,
  inChild,
  int,
  interleaved,
  median,
  percentile,
  reply,
  roundsOption,
  spreadOf,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

const WINDOW = 1_000;
const IN_FLIGHT_WINDOWS = 2;
const WARMUP = 8_000;
const MEASURED = 32_000;
const ROUNDS = roundsOption(3);
const STALL_MS = 1_000;
const LATENCY_RATE = 5_000;
const LATENCY_WARMUP_S = 1;
const LATENCY_SECONDS = 4;

const SELF = fileURLToPath(import.meta.url);
const FIXTURE = new URL('../test/fixtures/ingest/sip_updated_event.full.json', import.meta.url);

type Lib = 'tidings-nats' | 'nats' | 'tidings-redis';
type Mode = 'same' | 'two';
const LIBS: readonly Lib[] = ['tidings-nats', 'nats', 'tidings-redis'];
const LABEL: Record<Lib, string> = {
  'tidings-nats': 'Tidings core NATS (ingest codec, validation on)',
  nats: 'raw @nats-io/transport-node + JSON',
  'tidings-redis': 'Tidings Redis pub/sub (ingest codec, validation on)',
};

const FIXTURE_TEXT = readFileSync(FIXTURE, 'utf8').trim();
type SipUpdated = Extract<MonitorEvent, { type: 'sip_updated_event' }>;
const TEMPLATE = (JSON.parse(FIXTURE_TEXT) as { value: SipUpdated }).value;

function makeEvent(seq: number): SipUpdated {
  const { value } = TEMPLATE;
  return { type: 'sip_updated_event', value: { uuid: value.uuid, item: { ...value.item, file_count: seq } } };
}

interface Wire {
  value: SipUpdated;
}

function seqOfEvent(event: MonitorEvent): number {
  return event.type === 'sip_updated_event' ? (event.value.item.file_count ?? -2) : -2;
}

/** A growing count (events received) a publisher can wait on; false once it stalled for STALL_MS. */
class Progress {
  value = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve: ((reached: boolean) => void) | undefined;

  update(value: number): void {
    this.value = value;
    if (value >= this.#target) this.#settle(true);
  }

  reach(target: number): Promise<boolean> {
    if (this.value >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#target = target;
      this.#resolve = resolve;
      let seen = this.value;
      const check = (): void => {
        if (this.#resolve !== resolve) return;
        if (this.value === seen) this.#settle(false);
        else {
          seen = this.value;
          setTimeout(check, STALL_MS).unref();
        }
      };
      setTimeout(check, STALL_MS).unref();
    });
  }

  #settle(reached: boolean): void {
    const resolve = this.#resolve;
    this.#target = Number.POSITIVE_INFINITY;
    this.#resolve = undefined;
    resolve?.(reached);
  }
}

async function publishPaced(publish: (seq: number) => void, total: number, acked: Progress): Promise<void> {
  let writtenOff = 0;
  for (let sent = 0; sent < total; ) {
    const target = sent - WINDOW * (IN_FLIGHT_WINDOWS - 1) - writtenOff;
    if (target > 0 && !(await acked.reach(target))) writtenOff += target - acked.value;
    const end = Math.min(total, sent + WINDOW);
    for (; sent < end; sent++) publish(sent);
  }
}

interface Publisher {
  ready(): Promise<void>;
  publish(seq: number): void;
  close(): Promise<void>;
}

interface Receiver {
  start(onSeq: (seq: number) => void): Promise<void>;
  problems(): string[];
  close(): Promise<void>;
}

interface Urls {
  nats: string;
  redis: string;
}

function publisherFor(lib: Lib, urls: Urls, topic: string): Publisher {
  switch (lib) {
    case 'tidings-nats': {
      const service = newIngestEventServiceNats(undefined, undefined, { natsAddress: urls.nats, subject: topic });
      return {
        ready: async () => {
          await service.publishConfirmed(makeEvent(-1));
        },
        publish: (seq) => service.publish(makeEvent(seq)),
        close: () => service.close(),
      };
    }
    case 'tidings-redis': {
      const service = newIngestEventServiceRedis(undefined, undefined, {
        redisAddress: urls.redis,
        redisChannel: topic,
      });
      return {
        ready: async () => {
          await service.publishConfirmed(makeEvent(-1));
        },
        publish: (seq) => service.publish(makeEvent(seq)),
        close: () => service.close(),
      };
    }
    case 'nats': {
      let nc: NatsConnection | undefined;
      return {
        ready: async () => {
          nc = await connect({ servers: urls.nats });
          await nc.flush();
        },
        publish: (seq) => {
          const wire: Wire = { value: makeEvent(seq) };
          nc?.publish(topic, JSON.stringify(wire));
        },
        close: async () => {
          await nc?.flush();
          await nc?.close();
        },
      };
    }
  }
}

function tidingsReceiver(
  service: ReturnType<typeof newIngestEventServiceNats> | ReturnType<typeof newIngestEventServiceRedis>,
  bufferSize: number,
): Receiver {
  let sub: Subscription<MonitorEvent> | undefined;
  let gaps = 0;
  return {
    start: async (onSeq) => {
      const subscription = await service.subscribe({ bufferSize });
      sub = subscription;
      void (async () => {
        for await (const event of subscription) {
          if (subscription.takeGap() !== undefined) gaps++;
          onSeq(seqOfEvent(event));
        }
      })();
    },
    problems: () => {
      const problems: string[] = [];
      if ((sub?.dropped ?? 0) !== 0) problems.push(`dropped ${sub?.dropped}`);
      if (gaps !== 0) problems.push(`${gaps} gaps`);
      return problems;
    },
    close: () => service.close(),
  };
}

function receiverFor(lib: Lib, urls: Urls, topic: string, bufferSize: number): Receiver {
  switch (lib) {
    case 'tidings-nats':
      return tidingsReceiver(
        newIngestEventServiceNats(undefined, undefined, { natsAddress: urls.nats, subject: topic }),
        bufferSize,
      );
    case 'tidings-redis':
      return tidingsReceiver(
        newIngestEventServiceRedis(undefined, undefined, { redisAddress: urls.redis, redisChannel: topic }),
        bufferSize,
      );
    case 'nats': {
      let nc: NatsConnection | undefined;
      return {
        start: async (onSeq) => {
          nc = await connect({ servers: urls.nats });
          nc.subscribe(topic, {
            callback: (_error, msg) => {
              const wire = JSON.parse(msg.string()) as Wire;
              onSeq(seqOfEvent(wire.value));
            },
          });
          await nc.flush();
        },
        problems: () => [],
        close: async () => {
          await nc?.close();
        },
      };
    }
  }
}

interface ThroughputResult {
  eventsPerSec: number;
  cpuMicrosPerEvent: number;
  expected: number;
  received: number;
  outOfOrder: number;
  problems: string[];
}

interface PublisherReport {
  cpuMicros: number;
}

interface LatencyResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  lost: number;
}

function counter(expected: number) {
  const state = {
    received: 0,
    next: 0,
    outOfOrder: 0,
    startAt: 0,
    startCount: -1,
    lastAt: 0,
    cpuAtStart: undefined as NodeJS.CpuUsage | undefined,
    cpuMicros: 0,
    progress: new Progress(),
  };
  const onSeq = (seq: number): void => {
    if (seq < 0) return;
    state.received++;
    if (seq !== state.next) state.outOfOrder++;
    state.next = seq + 1;
    const now = performance.now();
    if (state.startCount < 0 && seq >= WARMUP) {
      state.startAt = now;
      state.startCount = state.received;
      state.cpuAtStart = process.cpuUsage();
    }
    state.lastAt = now;
    state.progress.update(state.received);
  };
  const stopCpu = (): void => {
    const used = process.cpuUsage(state.cpuAtStart);
    state.cpuMicros += used.user + used.system;
  };
  const result = (problems: string[]): ThroughputResult => ({
    eventsPerSec:
      state.startCount < 0 ? 0 : ((state.received - state.startCount) / (state.lastAt - state.startAt)) * 1_000,
    cpuMicrosPerEvent: state.startCount < 0 ? 0 : state.cpuMicros / (state.received - state.startCount),
    expected,
    received: state.received,
    outOfOrder: state.outOfOrder,
    problems,
  });
  return { state, onSeq, stopCpu, result };
}

async function runThroughput(lib: Lib, mode: Mode, urls: Urls, topic: string): Promise<ThroughputResult> {
  const total = WARMUP + MEASURED;
  const receiver = receiverFor(lib, urls, topic, WINDOW * (IN_FLIGHT_WINDOWS + 1));
  const { state, onSeq, stopCpu, result } = counter(total);
  let child: ChildProcess | undefined;
  let lastAck = 0;
  const ackingOnSeq =
    mode === 'same'
      ? onSeq
      : (seq: number): void => {
          onSeq(seq);
          if (state.received - lastAck >= WINDOW || state.received === total) {
            lastAck = state.received;
            child?.send(lastAck);
          }
        };
  await receiver.start(ackingOnSeq);
  if (mode === 'same') {
    const publisher = publisherFor(lib, urls, topic);
    await publisher.ready();
    await publishPaced((seq) => publisher.publish(seq), total, state.progress);
    await state.progress.reach(total);
    stopCpu();
    await publisher.close();
  } else {
    child = fork(SELF, ['publisher', lib, urls.nats, urls.redis, topic, String(total)]);
    const [ready] = (await once(child, 'message')) as [string];
    if (ready !== 'ready') throw new Error(`publisher child: ${ready}`);
    child.send('go');
    await state.progress.reach(total);
    stopCpu();
    child.send('stop');
    const [report] = (await once(child, 'message')) as [PublisherReport];
    state.cpuMicros += report.cpuMicros;
    await once(child, 'exit');
  }
  const problems = receiver.problems();
  await receiver.close();
  return result(problems);
}

async function runPublisherChild(lib: Lib, urls: Urls, topic: string, total: number): Promise<void> {
  const publisher = publisherFor(lib, urls, topic);
  const acked = new Progress();
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  await publisher.ready();
  const stopped = new Promise<void>((resolve) => {
    process.on('message', (message: unknown) => {
      if (typeof message === 'number') {
        if (cpuAtStart === undefined && message >= WARMUP) cpuAtStart = process.cpuUsage();
        acked.update(message);
      } else if (message === 'go') {
        publishPaced((seq) => publisher.publish(seq), total, acked).catch((error: unknown) => {
          console.error(error);
          process.exit(1);
        });
      } else if (message === 'stop') resolve();
    });
  });
  process.send?.('ready');
  await stopped;
  const used = process.cpuUsage(cpuAtStart);
  await publisher.close();
  process.send?.({ cpuMicros: used.user + used.system } satisfies PublisherReport, () => process.exit(0));
}

async function runLatency(lib: Lib, urls: Urls, topic: string): Promise<LatencyResult> {
  const total = LATENCY_RATE * (LATENCY_WARMUP_S + LATENCY_SECONDS);
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total).fill(-1);
  const receiver = receiverFor(lib, urls, topic, 1_024);
  await receiver.start((seq) => {
    if (seq >= 0) latency[seq] = performance.now() - (sentAt[seq] as number);
  });
  const publisher = publisherFor(lib, urls, topic);
  await publisher.ready();
  await new Promise<void>((resolve) => {
    const t0 = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * LATENCY_RATE) / 1_000));
      for (; sent < due; sent++) {
        sentAt[sent] = performance.now();
        publisher.publish(sent);
      }
      if (sent === total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // The last events' way back: a bench, not a test, so a short grace period rather than a condition.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const samples = latency
    .subarray(LATENCY_RATE * LATENCY_WARMUP_S)
    .filter((value) => value >= 0)
    .sort();
  const lost = latency.filter((value) => value < 0).length;
  await publisher.close();
  await receiver.close();
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    p999: percentile(samples, 0.999),
    max: samples.at(-1) ?? Number.NaN,
    lost,
  };
}

const ms = (value: number): string => value.toFixed(3);
const micros = (value: number): string => value.toFixed(1);
const pct = (value: number): string => `${(value * 100).toFixed(0)}%`;

interface Run {
  lib: Lib;
  mode: Mode;
}

async function main(): Promise<void> {
  const [nats, redis] = await Promise.all([startNatsServer({ jetstream: false }), startRedisServer()]);
  const urls: Urls = { nats: nats.url, redis: redis.url };
  let topic = 0;
  const nextTopic = (): string => `bench-${topic++}`;
  const load = watchLoad();
  try {
    console.log(describeSetup('Tidings core NATS benchmark'));
    console.log(
      `nats-server ${nats.port} and redis-server ${redis.port} of their own; payload sip_updated_event fixture (${FIXTURE_TEXT.length} bytes); ` +
        `${int(WARMUP)} warm-up + ${int(MEASURED)} timed events per run; windows of ${WINDOW}, at most ${IN_FLIGHT_WINDOWS} in flight; ` +
        `${ROUNDS} interleaved rounds, each run in a fresh process; median (min–max) over the rounds\n`,
    );
    const runs: Run[] = (['same', 'two'] as const).flatMap((mode) => LIBS.map((lib) => ({ lib, mode })));
    const results = await interleaved(
      ROUNDS,
      runs,
      ({ lib, mode }) => inChild<ThroughputResult>(SELF, ['throughput', lib, mode, urls.nats, urls.redis, nextTopic()]),
      ({ lib, mode }, round, result) =>
        process.stderr.write(
          `  round ${round + 1} ${mode.padEnd(4)} ${lib.padEnd(14)} ${int(result.eventsPerSec).padStart(8)} ev/s${result.received === result.expected ? '' : `  LOST ${result.expected - result.received}`}\n`,
        ),
    );
    const runsOf = (lib: Lib, mode: Mode): ThroughputResult[] =>
      results.get(runs.find((run) => run.lib === lib && run.mode === mode) as Run) ?? [];
    const rates = (lib: Lib, mode: Mode): number[] => runsOf(lib, mode).map((r) => r.eventsPerSec);
    const ratios = (lib: Lib, base: Lib, mode: Mode): number[] => {
      const baseRates = rates(base, mode);
      return rates(lib, mode).map((value, round) => value / (baseRates[round] as number));
    };
    const cpu = (lib: Lib, mode: Mode): number[] => runsOf(lib, mode).map((r) => r.cpuMicrosPerEvent);
    for (const [mode, title] of [
      ['same', 'publisher and subscriber in one process'],
      ['two', 'publisher in another process'],
    ] as const) {
      console.log(`\n1${mode === 'same' ? 'a' : 'b'}. End-to-end throughput, events/s, ${title}\n`);
      console.log(
        table(
          ['library', 'events/s', 'vs raw NATS client', 'Node CPU µs/ev', 'lost', `checks (${ROUNDS} runs)`],
          LIBS.map((lib) => {
            const list = runsOf(lib, mode);
            const lost = list.reduce((sum, run) => sum + (run.expected - run.received), 0);
            const disorder = list.reduce((sum, run) => sum + run.outOfOrder, 0);
            const notes = list.flatMap((run) => run.problems);
            if (disorder !== 0) notes.push(`${disorder} out of order`);
            return [
              LABEL[lib],
              spreadOf(rates(lib, mode), int),
              spreadOf(ratios(lib, 'nats', mode), pct),
              spreadOf(cpu(lib, mode), micros),
              int(lost),
              notes.length === 0 ? 'all arrived, in order' : notes.join('; '),
            ];
          }),
        ),
      );
    }

    const latencyRuns = await interleaved(ROUNDS, LIBS, (lib) =>
      inChild<LatencyResult>(SELF, ['latency', lib, urls.nats, urls.redis, nextTopic()]),
    );
    const latencyOf = (lib: Lib): LatencyResult[] => latencyRuns.get(lib) ?? [];
    const pick = (lib: Lib, key: 'p50' | 'p99' | 'p999'): number[] => latencyOf(lib).map((run) => run[key]);
    const latencyRatios = (lib: Lib, key: 'p50' | 'p99'): number[] => {
      const base = pick('nats', key);
      return pick(lib, key).map((value, round) => value / (base[round] as number));
    };
    console.log(
      `\n2. Publish-to-receive latency at a steady ${int(LATENCY_RATE)} events/s (${LATENCY_SECONDS} s after ${LATENCY_WARMUP_S} s warm-up, same process), ms; ratios to the raw NATS client within each round\n`,
    );
    console.log(
      table(
        ['library', 'p50', 'p99', 'p99.9', 'max', 'p50 vs raw NATS', 'p99 vs raw NATS', 'lost'],
        LIBS.map((lib) => [
          LABEL[lib],
          spreadOf(pick(lib, 'p50'), ms),
          spreadOf(pick(lib, 'p99'), ms),
          spreadOf(pick(lib, 'p999'), ms),
          ms(Math.max(...latencyOf(lib).map((run) => run.max))),
          spreadOf(latencyRatios(lib, 'p50'), times),
          spreadOf(latencyRatios(lib, 'p99'), times),
          int(latencyOf(lib).reduce((sum, run) => sum + run.lost, 0)),
        ]),
      ),
    );
    console.log(`\n${describeLoad(load.stop())}`);

    const verdicts = new Verdicts();
    const same = median(ratios('tidings-nats', 'nats', 'same'));
    const two = median(ratios('tidings-nats', 'nats', 'two'));
    verdicts.check(
      `throughput ≥ 70% of ${LABEL.nats}`,
      `same process ${pct(same)}, two processes ${pct(two)}`,
      same >= 0.7 && two >= 0.7,
    );
    const aheadSame = median(ratios('tidings-nats', 'tidings-redis', 'same'));
    const aheadTwo = median(ratios('tidings-nats', 'tidings-redis', 'two'));
    verdicts.check(
      `ahead of ${LABEL['tidings-redis']}`,
      `same process ${pct(aheadSame)}, two processes ${pct(aheadTwo)}`,
      aheadSame > 1 && aheadTwo > 1,
    );
    const p99Ratio = median(latencyRatios('tidings-nats', 'p99'));
    verdicts.check(
      `p99 at ${int(LATENCY_RATE)} events/s within 3x the raw client's`,
      `${ms(median(pick('tidings-nats', 'p99')))} ms vs ${ms(median(pick('nats', 'p99')))} ms, ${times(p99Ratio)}`,
      p99Ratio <= 3,
    );
    verdicts.print();
  } finally {
    await Promise.allSettled([nats.close(), redis.stop()]);
  }
}

const [role, ...args] = process.argv.slice(2);
const urlsOf = (nats: string | undefined, redis: string | undefined): Urls => ({
  nats: nats as string,
  redis: redis as string,
});
switch (role) {
  case undefined:
  case '--rounds':
    await main();
    break;
  case 'throughput':
    await reply(() => runThroughput(args[0] as Lib, args[1] as Mode, urlsOf(args[2], args[3]), args[4] as string));
    break;
  case 'publisher':
    await runPublisherChild(args[0] as Lib, urlsOf(args[1], args[2]), args[3] as string, Number(args[4]));
    break;
  case 'latency':
    await reply(() => runLatency(args[0] as Lib, urlsOf(args[1], args[2]), args[3] as string));
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
