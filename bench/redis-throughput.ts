/**
 * Redis benchmark: Tidings' Redis backend (ingest codec, validation on)
 * against raw ioredis with its default options (one PUBLISH written per
 * call), raw ioredis with `enableAutoPipelining`, raw node-redis (whose
 * default pipelines the commands of one tick) and graphql-redis-subscriptions
 * (publishing through an auto-pipelined ioredis), all on the same payload
 * (the `sip_updated_event` wire fixture, 712 bytes).
 *
 *   npm run bench:redis
 *
 * Printed in one run:
 *
 * 1. End-to-end throughput publisher → subscriber, same process and two
 *    processes (publisher in a forked child). Every library gets the same
 *    pacing: the publisher publishes WINDOW events in one tick (what each
 *    client makes of that is its own: one script call, one pipelined write,
 *    or a write per command), and before the next window waits
 *    until the subscriber has received all but the last IN_FLIGHT_WINDOWS - 1
 *    windows. At most ~1.4 MB is ever in flight, far below Redis' pubsub
 *    output-buffer limit, so a fast publisher cannot get a slow subscriber
 *    disconnected. Every run checks that every event arrived, in order
 *    (Tidings also: `dropped === 0`, no gap reported); loss is reported in a
 *    column, never hidden. CPU is reported for the Node processes and for
 *    redis-server apart: Tidings sends each tick's publishes as one script
 *    call, which moves some work from Node into Redis.
 * 2. Publish-to-receive latency at a steady 5,000 events/s: a 1 ms timer
 *    publishes whatever the schedule says is due (about 5 events per tick);
 *    each event's latency is from its `publish()` call to the moment the
 *    consumer holds the decoded event (`performance.now()`, same process).
 *    Streams rows: Tidings' Redis Streams backend (batched XADD script, one
 *    shared XREAD BLOCK reader) against raw ioredis XADD (default options,
 *    `MAXLEN ~` as Tidings trims) + an XREAD BLOCK loop, under the same pacing.
 * 3. 1,000 concurrent subscriptions on one Tidings service: the connections
 *    Redis holds (`CLIENT LIST`) and delivery to all of them.
 *
 * Parts 1 and 2 run in interleaved rounds (`--rounds`, default ROUNDS), each
 * run in a fresh process; every figure is the median over the rounds with its
 * spread, and every ratio is taken within a round.
 *
 * A private `redis-server` is started on a free port, so the shared Redis is
 * never disturbed.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { Subscription } from '../src/core/contract.js';
import { newIngestEventServiceRedis } from '../src/monitor/redis-services.js';
import { newIngestEventServiceRedisStream } from '../src/monitor/redis-stream-services.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
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

// ------------------------------------------------------------------ parameters

/** Events published in one tick before the publisher may wait. */
const WINDOW = 1_000;
/** Windows that may be published and not yet received. */
const IN_FLIGHT_WINDOWS = 2;
/** Events per throughput run before timing starts (JIT, connections, buffers). */
const WARMUP = 8_000;
/** Events per throughput run that are timed. */
const MEASURED = 32_000;
/** Interleaved rounds of fresh-process runs, for throughput and for latency; the median is reported. */
const ROUNDS = roundsOption(5);
/** No progress for this long means events were lost: the publisher goes on, the loss is reported. */
const STALL_MS = 1_000;
const LATENCY_RATE = 5_000;
const LATENCY_WARMUP_S = 1;
const LATENCY_SECONDS = 5;
const FANOUT_SUBSCRIPTIONS = 1_000;
const FANOUT_EVENTS = 2_000;
const FANOUT_WINDOW = 100;

const SELF = fileURLToPath(import.meta.url);
const FIXTURE = new URL('../test/fixtures/ingest/sip_updated_event.full.json', import.meta.url);

/** `ioredis` is ioredis as constructed with its defaults; `ioredis-auto` adds `enableAutoPipelining`. */
type Lib =
  | 'tidings'
  | 'ioredis'
  | 'ioredis-auto'
  | 'node-redis'
  | 'graphql-redis-subscriptions'
  | 'tidings-stream'
  | 'ioredis-stream';
type Mode = 'same' | 'two';
const LIBS: readonly Lib[] = [
  'tidings',
  'ioredis',
  'ioredis-auto',
  'node-redis',
  'graphql-redis-subscriptions',
  'tidings-stream',
  'ioredis-stream',
];
/** Streams rows: their keys are deleted after each run, so Redis' memory stays flat over the rounds. */
const STREAM_LIBS: ReadonlySet<Lib> = new Set(['tidings-stream', 'ioredis-stream']);
/** What both stream rows retain (Tidings' default): more than a run appends, so nothing is trimmed under a reader. */
const STREAM_MAX_LEN = 100_000;
const LATENCY_LIBS: readonly Lib[] = ['tidings', 'ioredis', 'ioredis-auto', 'node-redis'];
/** What each row runs, exactly: the README's rows are these labels. */
const LABEL: Record<Lib, string> = {
  tidings: 'Tidings (ingest codec, validation on; one script call per tick)',
  ioredis: 'raw ioredis + JSON, default options (a PUBLISH written per call)',
  'ioredis-auto': 'raw ioredis + JSON, `enableAutoPipelining: true`',
  'node-redis': 'raw node-redis + JSON, default options (pipelines one tick)',
  'graphql-redis-subscriptions': 'graphql-redis-subscriptions, publisher ioredis `enableAutoPipelining: true`',
  'tidings-stream': 'Tidings Redis Streams (ingest codec, validation on; one XADD script per tick, shared XREAD BLOCK)',
  'ioredis-stream': 'raw ioredis XADD (default options, MAXLEN ~) + XREAD BLOCK loop, JSON',
};

// ------------------------------------------------------------------ payload

const FIXTURE_TEXT = readFileSync(FIXTURE, 'utf8').trim();
const TEMPLATE = (JSON.parse(FIXTURE_TEXT) as { value: SipUpdated }).value;
type SipUpdated = Extract<MonitorEvent, { type: 'sip_updated_event' }>;

/** The fixture event with `item.file_count` carrying the sequence number; a fresh object per call, for every library. */
function makeEvent(seq: number): SipUpdated {
  const { value } = TEMPLATE;
  return { type: 'sip_updated_event', value: { uuid: value.uuid, item: { ...value.item, file_count: seq } } };
}

/** The wire form Enduro publishes (and Tidings' codec writes, byte for byte). */
interface Wire {
  value: SipUpdated;
}

function seqOfEvent(event: MonitorEvent): number {
  return event.type === 'sip_updated_event' ? (event.value.item.file_count ?? -2) : -2;
}

// ------------------------------------------------------------------ flow control

/**
 * A monotonically growing count (events received) that a publisher can wait
 * on. `reach()` resolves true when the count gets there, false once it has
 * not moved for STALL_MS.
 */
class Progress {
  value = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve: ((reached: boolean) => void) | undefined;

  update(value: number): void {
    this.value = value;
    if (value >= this.#target) this.#settle(true);
  }

  reach(target: number, stallMs = STALL_MS): Promise<boolean> {
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
          setTimeout(check, stallMs).unref();
        }
      };
      setTimeout(check, stallMs).unref();
    });
  }

  #settle(reached: boolean): void {
    const resolve = this.#resolve;
    this.#target = Number.POSITIVE_INFINITY;
    this.#resolve = undefined;
    resolve?.(reached);
  }
}

/** The pacing every library gets; `acked` counts events the subscriber has received. */
async function publishPaced(publish: (seq: number) => void, total: number, acked: Progress): Promise<void> {
  let written_off = 0;
  for (let sent = 0; sent < total; ) {
    const target = sent - WINDOW * (IN_FLIGHT_WINDOWS - 1) - written_off;
    if (target > 0 && !(await acked.reach(target))) written_off += target - acked.value;
    const end = Math.min(total, sent + WINDOW);
    for (; sent < end; sent++) publish(sent);
  }
}

// ------------------------------------------------------------------ the libraries

interface Publisher {
  /** Resolves once the publishing connection is up. */
  ready(): Promise<void>;
  publish(seq: number): void;
  close(): Promise<void>;
}

interface Receiver {
  /** Resolves once Redis confirmed the subscription. */
  start(onSeq: (seq: number) => void): Promise<void>;
  /** Loss the library itself reports (Tidings' drop counter and gaps). */
  problems(): string[];
  close(): Promise<void>;
}

const failures = { publish: 0 };
const countFailure = (): void => {
  failures.publish++;
};

function autoPipelined(url: string): Redis {
  return new Redis(url, { enableAutoPipelining: true });
}

/** A raw ioredis publisher: default options, or auto-pipelined. */
function ioredisPublisher(redis: Redis, channel: string): Publisher {
  return {
    ready: async () => {
      await redis.ping();
    },
    publish: (seq) => {
      const wire: Wire = { value: makeEvent(seq) };
      redis.publish(channel, JSON.stringify(wire)).catch(countFailure);
    },
    close: async () => {
      await redis.quit();
    },
  };
}

function publisherFor(lib: Lib, url: string, channel: string): Publisher {
  switch (lib) {
    case 'tidings': {
      const service = newIngestEventServiceRedis(undefined, undefined, { redisAddress: url, redisChannel: channel });
      return {
        ready: async () => {
          await service.publishConfirmed(makeEvent(-1));
        },
        publish: (seq) => service.publish(makeEvent(seq)),
        close: () => service.close(),
      };
    }
    case 'tidings-stream': {
      const service = newIngestEventServiceRedisStream(undefined, undefined, {
        redisAddress: url,
        streamKey: channel,
        retention: { maxLen: STREAM_MAX_LEN },
      });
      return {
        ready: async () => {
          await service.publishConfirmed(makeEvent(-1));
        },
        publish: (seq) => service.publish(makeEvent(seq)),
        close: () => service.close(),
      };
    }
    case 'ioredis-stream': {
      const redis = new Redis(url);
      return {
        ready: async () => {
          await redis.ping();
        },
        publish: (seq) => {
          const wire: Wire = { value: makeEvent(seq) };
          redis.xadd(channel, 'MAXLEN', '~', STREAM_MAX_LEN, '*', 'm', JSON.stringify(wire)).catch(countFailure);
        },
        close: async () => {
          await redis.quit();
        },
      };
    }
    case 'ioredis':
      return ioredisPublisher(new Redis(url), channel);
    case 'ioredis-auto':
      return ioredisPublisher(autoPipelined(url), channel);
    case 'node-redis': {
      const client = createClient({ url });
      client.on('error', countFailure);
      return {
        ready: async () => {
          await client.connect();
        },
        publish: (seq) => {
          const wire: Wire = { value: makeEvent(seq) };
          client.publish(channel, JSON.stringify(wire)).catch(countFailure);
        },
        close: async () => {
          client.destroy();
        },
      };
    }
    case 'graphql-redis-subscriptions': {
      // The same ioredis publisher options as raw ioredis (auto-pipelining): the most favourable setup for it.
      const publisher = autoPipelined(url);
      const pubsub = new RedisPubSub({ publisher, subscriber: new Redis(url, { lazyConnect: true }) });
      return {
        ready: async () => {
          await publisher.ping();
        },
        publish: (seq) => {
          const wire: Wire = { value: makeEvent(seq) };
          pubsub.publish(channel, wire).catch(countFailure);
        },
        close: async () => {
          publisher.disconnect();
          pubsub.getSubscriber().disconnect();
        },
      };
    }
  }
}

function receiverFor(lib: Lib, url: string, channel: string, bufferSize: number): Receiver {
  switch (lib) {
    case 'tidings':
    case 'tidings-stream': {
      const service =
        lib === 'tidings'
          ? newIngestEventServiceRedis(undefined, undefined, { redisAddress: url, redisChannel: channel })
          : newIngestEventServiceRedisStream(undefined, undefined, {
              redisAddress: url,
              streamKey: channel,
              retention: { maxLen: STREAM_MAX_LEN },
            });
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
          const dropped = sub?.dropped ?? 0;
          if (dropped !== 0) problems.push(`dropped ${dropped}`);
          if (gaps !== 0) problems.push(`${gaps} gaps`);
          const invalid = Object.values(service.stats.invalid).reduce((a, b) => a + b, 0);
          if (invalid !== 0) problems.push(`${invalid} invalid`);
          return problems;
        },
        close: () => service.close(),
      };
    }
    // Auto-pipelining changes how commands are written, not how a subscriber reads.
    case 'ioredis':
    case 'ioredis-auto': {
      const redis = new Redis(url);
      return {
        start: async (onSeq) => {
          redis.on('message', (_channel: string, text: string) => {
            const wire = JSON.parse(text) as Wire;
            onSeq(seqOfEvent(wire.value));
          });
          await redis.subscribe(channel);
        },
        problems: () => [],
        close: async () => {
          redis.disconnect();
        },
      };
    }
    case 'ioredis-stream': {
      const redis = new Redis(url);
      let reading = true;
      let loop: Promise<void> | undefined;
      return {
        start: async (onSeq) => {
          await redis.ping();
          // A fresh key: reading from the start misses nothing appended before the first XREAD.
          loop = (async () => {
            let last = '0-0';
            while (reading) {
              const reply = (await redis.xread('COUNT', 1_000, 'BLOCK', 100, 'STREAMS', channel, last)) as
                | [string, [string, string[]][]][]
                | null;
              for (const [id, fields] of reply?.[0]?.[1] ?? []) {
                last = id;
                const wire = JSON.parse(fields[1] as string) as Wire;
                onSeq(seqOfEvent(wire.value));
              }
            }
          })();
        },
        problems: () => [],
        close: async () => {
          reading = false;
          await loop;
          redis.disconnect();
        },
      };
    }
    case 'node-redis': {
      const client = createClient({ url });
      client.on('error', countFailure);
      return {
        start: async (onSeq) => {
          await client.connect();
          await client.subscribe(channel, (text: string) => {
            const wire = JSON.parse(text) as Wire;
            onSeq(seqOfEvent(wire.value));
          });
        },
        problems: () => [],
        close: async () => {
          client.destroy();
        },
      };
    }
    case 'graphql-redis-subscriptions': {
      const subscriber = new Redis(url);
      const pubsub = new RedisPubSub({ publisher: new Redis(url, { lazyConnect: true }), subscriber });
      return {
        start: async (onSeq) => {
          const iterator: AsyncIterable<Wire> = pubsub.asyncIterableIterator<Wire>(channel);
          void (async () => {
            for await (const wire of iterator) onSeq(seqOfEvent(wire.value));
          })();
          await waitForSubscribers(url, channel, 1);
        },
        problems: () => [],
        close: async () => {
          subscriber.disconnect();
          pubsub.getPublisher().disconnect();
        },
      };
    }
  }
}

async function waitForSubscribers(url: string, channel: string, count: number): Promise<void> {
  const admin = new Redis(url);
  try {
    for (;;) {
      const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(reply[1]) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    admin.disconnect();
  }
}

// ------------------------------------------------------------------ roles

interface ThroughputResult {
  eventsPerSec: number;
  /** CPU time of the Node process(es), publisher and subscriber, per timed event. */
  cpuMicrosPerEvent: number;
  /** CPU time of redis-server per event, over the whole run (warm-up included). */
  redisCpuMicrosPerEvent: number;
  expected: number;
  received: number;
  outOfOrder: number;
  problems: string[];
}

/** What a publisher child reports when told to stop. */
interface PublisherReport {
  cpuMicros: number;
  publishFailures: number;
}

interface LatencyResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
  lost: number;
}

interface FanoutResult {
  connectionsBefore: string[];
  connectionsDuring: string[];
  numsub: number;
  subscriptions: number;
  events: number;
  deliveredTotal: number;
  allComplete: boolean;
  dropped: number;
  seconds: number;
}

/** A receiving side that counts, checks order and times the measured stretch. */
function counter(expected: number) {
  const state = {
    received: 0,
    next: 0,
    outOfOrder: 0,
    startAt: 0,
    startCount: -1,
    lastAt: 0,
    cpuAtStart: undefined as NodeJS.CpuUsage | undefined,
    /** CPU time (user + system, µs) of the Node processes over the timed stretch. */
    cpuMicros: 0,
    progress: new Progress(),
  };
  const onSeq = (seq: number): void => {
    if (seq < 0) return; // readiness probe
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
  /** Call when the last event arrived: stops the CPU clock of this process. */
  const stopCpu = (): void => {
    const used = process.cpuUsage(state.cpuAtStart);
    state.cpuMicros += used.user + used.system;
  };
  const result = (problems: string[], redisCpuMicros: number): ThroughputResult => ({
    eventsPerSec:
      state.startCount < 0 ? 0 : ((state.received - state.startCount) / (state.lastAt - state.startAt)) * 1_000,
    cpuMicrosPerEvent: state.startCount < 0 ? 0 : state.cpuMicros / (state.received - state.startCount),
    redisCpuMicrosPerEvent: redisCpuMicros / expected,
    expected,
    received: state.received,
    outOfOrder: state.outOfOrder,
    problems,
  });
  return { state, onSeq, stopCpu, result };
}

/** CPU time redis-server has used so far, in µs (INFO cpu). */
async function redisCpu(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const seconds = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

async function runThroughput(lib: Lib, mode: Mode, url: string, channel: string): Promise<ThroughputResult> {
  const total = WARMUP + MEASURED;
  const admin = new Redis(url);
  const redisCpuAtStart = await redisCpu(admin);
  const receiver = receiverFor(lib, url, channel, WINDOW * (IN_FLIGHT_WINDOWS + 1));
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
    const publisher = publisherFor(lib, url, channel);
    await publisher.ready();
    await publishPaced((seq) => publisher.publish(seq), total, state.progress);
    await state.progress.reach(total);
    stopCpu();
    await publisher.close();
  } else {
    child = fork(SELF, ['publisher', lib, url, channel, String(total)]);
    const [ready] = (await once(child, 'message')) as [string];
    if (ready !== 'ready') throw new Error(`publisher child: ${ready}`);
    child.send('go');
    await state.progress.reach(total);
    stopCpu();
    child.send('stop');
    const [report] = (await once(child, 'message')) as [PublisherReport];
    state.cpuMicros += report.cpuMicros;
    failures.publish += report.publishFailures;
    await once(child, 'exit');
  }
  const redisCpuMicros = (await redisCpu(admin)) - redisCpuAtStart;
  if (STREAM_LIBS.has(lib)) await admin.del(channel);
  admin.disconnect();
  const problems = receiver.problems();
  if (failures.publish !== 0) problems.push(`${failures.publish} publish failures`);
  await receiver.close();
  return result(problems, redisCpuMicros);
}

async function runPublisherChild(lib: Lib, url: string, channel: string, total: number): Promise<void> {
  const publisher = publisherFor(lib, url, channel);
  const acked = new Progress();
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  await publisher.ready();
  const stopped = new Promise<void>((resolve) => {
    process.on('message', (message: unknown) => {
      if (typeof message === 'number') {
        // The subscriber times from the first event past the warm-up: so does this CPU clock.
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
  const report: PublisherReport = { cpuMicros: used.user + used.system, publishFailures: failures.publish };
  await publisher.close();
  process.send?.(report, () => process.exit(0));
}

async function runLatency(lib: Lib, url: string, channel: string): Promise<LatencyResult> {
  const total = LATENCY_RATE * (LATENCY_WARMUP_S + LATENCY_SECONDS);
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total).fill(-1);
  const receiver = receiverFor(lib, url, channel, 1_024);
  await receiver.start((seq) => {
    if (seq >= 0) latency[seq] = performance.now() - (sentAt[seq] as number);
  });
  const publisher = publisherFor(lib, url, channel);
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
  await new Promise((resolve) => setTimeout(resolve, 200));
  const measured = latency.subarray(LATENCY_RATE * LATENCY_WARMUP_S);
  const samples = measured.filter((value) => value >= 0).sort();
  const lost = latency.filter((value) => value < 0).length;
  await publisher.close();
  await receiver.close();
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    p999: percentile(samples, 0.999),
    max: samples.at(-1) ?? NaN,
    samples: samples.length,
    lost,
  };
}

async function clientList(admin: Redis): Promise<string[]> {
  const ownId = Number(await admin.client('ID'));
  return String(await admin.client('LIST'))
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith(`id=${ownId} `))
    .map((line) => {
      const field = (name: string): string => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
      return `${field('name') || '(unnamed)'} sub=${field('sub')}`;
    });
}

async function runFanout(url: string, channel: string): Promise<FanoutResult> {
  const admin = new Redis(url);
  const service = newIngestEventServiceRedis(undefined, undefined, { redisAddress: url, redisChannel: channel });
  await service.publishConfirmed(makeEvent(-1));
  const connectionsBefore = await clientList(admin);
  const progress = new Progress();
  let deliveredTotal = 0;
  const perSub: number[] = [];
  const subs = [];
  for (let i = 0; i < FANOUT_SUBSCRIPTIONS; i++) {
    const sub = await service.subscribe({ bufferSize: 1_024 });
    subs.push(sub);
    perSub.push(0);
    void (async () => {
      for await (const event of sub) {
        if (seqOfEvent(event) < 0) continue;
        perSub[i] = (perSub[i] ?? 0) + 1;
        progress.update(++deliveredTotal);
      }
    })();
  }
  const connectionsDuring = await clientList(admin);
  const numsub = Number(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]);
  const started = performance.now();
  let sent = 0;
  while (sent < FANOUT_EVENTS) {
    const target = (sent - FANOUT_WINDOW) * FANOUT_SUBSCRIPTIONS;
    if (target > 0) await progress.reach(target);
    for (const end = sent + FANOUT_WINDOW; sent < end; sent++) service.publish(makeEvent(sent));
  }
  await progress.reach(FANOUT_EVENTS * FANOUT_SUBSCRIPTIONS);
  const seconds = (performance.now() - started) / 1_000;
  const dropped = subs.reduce((sum, sub) => sum + sub.dropped, 0);
  await service.close();
  admin.disconnect();
  return {
    connectionsBefore,
    connectionsDuring,
    numsub,
    subscriptions: subs.length,
    events: FANOUT_EVENTS,
    deliveredTotal,
    allComplete: perSub.every((count) => count === FANOUT_EVENTS),
    dropped,
    seconds,
  };
}

// ------------------------------------------------------------------ report

const ms = (value: number): string => value.toFixed(3);
const micros = (value: number): string => value.toFixed(1);
const pct = (value: number): string => `${(value * 100).toFixed(0)}%`;

/** What runs where: a library in a mode. */
interface Run {
  lib: Lib;
  mode: Mode;
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const url = server.url;
  let channel = 0;
  const nextChannel = (): string => `bench-${channel++}`;
  const load = watchLoad();
  try {
    console.log(describeSetup('Tidings Redis benchmark'));
    console.log(
      `redis-server of its own on port ${server.port}; payload sip_updated_event fixture (${FIXTURE_TEXT.length} bytes); ` +
        `${int(WARMUP)} warm-up + ${int(MEASURED)} timed events per run; windows of ${WINDOW}, at most ` +
        `${IN_FLIGHT_WINDOWS} in flight; ${ROUNDS} interleaved rounds, each run in a fresh process; median (min–max) over the rounds\n`,
    );

    // 1. throughput
    const runs: Run[] = (['same', 'two'] as const).flatMap((mode) => LIBS.map((lib) => ({ lib, mode })));
    const results = await interleaved(
      ROUNDS,
      runs,
      ({ lib, mode }) => inChild<ThroughputResult>(SELF, ['throughput', lib, mode, url, nextChannel()]),
      ({ lib, mode }, round, result) =>
        process.stderr.write(
          `  round ${round + 1} ${mode.padEnd(4)} ${lib.padEnd(27)} ${int(result.eventsPerSec).padStart(7)} ev/s ${micros(result.cpuMicrosPerEvent).padStart(5)} µs CPU/ev${result.received === result.expected ? '' : `  LOST ${result.expected - result.received}`}\n`,
        ),
    );
    const runsOf = (lib: Lib, mode: Mode): ThroughputResult[] =>
      results.get(runs.find((run) => run.lib === lib && run.mode === mode) as Run) ?? [];
    const rates = (lib: Lib, mode: Mode): number[] => runsOf(lib, mode).map((result) => result.eventsPerSec);
    /** `lib`'s rate over `base`'s, round by round. */
    const rateRatios = (lib: Lib, base: Lib, mode: Mode): number[] => {
      const baseRates = rates(base, mode);
      return rates(lib, mode).map((value, round) => value / (baseRates[round] as number));
    };
    const cpu = (lib: Lib, mode: Mode): number[] => runsOf(lib, mode).map((result) => result.cpuMicrosPerEvent);
    const redisCpu = (lib: Lib, mode: Mode): number[] =>
      runsOf(lib, mode).map((result) => result.redisCpuMicrosPerEvent);
    for (const [mode, title] of [
      ['same', 'publisher and subscriber in one process'],
      ['two', 'publisher in another process'],
    ] as const) {
      console.log(`\n1${mode === 'same' ? 'a' : 'b'}. End-to-end throughput, events/s, ${title}\n`);
      console.log(
        table(
          [
            'library',
            'events/s',
            'vs plain ioredis',
            'vs auto-pipelined ioredis',
            'vs raw XADD+XREAD',
            'Node CPU µs/ev',
            'Redis CPU µs/ev',
            'lost',
            `checks (${ROUNDS} runs)`,
          ],
          LIBS.map((lib) => {
            const list = runsOf(lib, mode);
            const lost = list.reduce((sum, run) => sum + (run.expected - run.received), 0);
            const disorder = list.reduce((sum, run) => sum + run.outOfOrder, 0);
            const notes = list.flatMap((run) => run.problems);
            if (disorder !== 0) notes.push(`${disorder} out of order`);
            return [
              LABEL[lib],
              spreadOf(rates(lib, mode), int),
              spreadOf(rateRatios(lib, 'ioredis', mode), pct),
              spreadOf(rateRatios(lib, 'ioredis-auto', mode), pct),
              STREAM_LIBS.has(lib) ? spreadOf(rateRatios(lib, 'ioredis-stream', mode), pct) : '—',
              spreadOf(cpu(lib, mode), micros),
              spreadOf(redisCpu(lib, mode), micros),
              int(lost),
              notes.length === 0 ? 'all arrived, in order' : notes.join('; '),
            ];
          }),
        ),
      );
    }

    // 2. latency
    const latencyRuns = await interleaved(ROUNDS, LATENCY_LIBS, (lib) =>
      inChild<LatencyResult>(SELF, ['latency', lib, url, nextChannel()]),
    );
    const latencyOf = (lib: Lib): LatencyResult[] => latencyRuns.get(lib) ?? [];
    const pick = (lib: Lib, key: 'p50' | 'p99' | 'p999'): number[] => latencyOf(lib).map((run) => run[key]);
    /** `lib`'s latency over `base`'s at one percentile, round by round. */
    const latencyRatios = (lib: Lib, base: Lib, key: 'p50' | 'p99'): number[] => {
      const baseValues = pick(base, key);
      return pick(lib, key).map((value, round) => value / (baseValues[round] as number));
    };
    console.log(
      `\n2. Publish-to-receive latency at a steady ${int(LATENCY_RATE)} events/s (${LATENCY_SECONDS} s after ${LATENCY_WARMUP_S} s warm-up, same process), ms; ratios to raw ioredis within each round\n`,
    );
    console.log(
      table(
        [
          'library',
          'p50',
          'p99',
          'p99.9',
          'max',
          'p50 vs plain ioredis',
          'p99 vs plain ioredis',
          'p50 vs auto-pipelined',
          'p99 vs auto-pipelined',
          'lost',
        ],
        LATENCY_LIBS.map((lib) => [
          LABEL[lib],
          spreadOf(pick(lib, 'p50'), ms),
          spreadOf(pick(lib, 'p99'), ms),
          spreadOf(pick(lib, 'p999'), ms),
          ms(Math.max(...latencyOf(lib).map((run) => run.max))),
          spreadOf(latencyRatios(lib, 'ioredis', 'p50'), times),
          spreadOf(latencyRatios(lib, 'ioredis', 'p99'), times),
          spreadOf(latencyRatios(lib, 'ioredis-auto', 'p50'), times),
          spreadOf(latencyRatios(lib, 'ioredis-auto', 'p99'), times),
          int(latencyOf(lib).reduce((sum, run) => sum + run.lost, 0)),
        ]),
      ),
    );

    // 3. fan-out
    const fanout = await inChild<FanoutResult>(SELF, ['fanout', url, nextChannel()]);
    const tally = (connections: string[]): string => {
      const counts = new Map<string, number>();
      for (const connection of connections) counts.set(connection, (counts.get(connection) ?? 0) + 1);
      return [...counts].map(([name, count]) => `${count} × ${name}`).join(', ');
    };
    console.log(`\n3. ${int(fanout.subscriptions)} concurrent subscriptions on one Tidings service (one run)\n`);
    console.log(
      table(
        ['measure', 'value'],
        [
          [
            'Redis connections before subscribing (CLIENT LIST)',
            `${fanout.connectionsBefore.length}: ${tally(fanout.connectionsBefore)}`,
          ],
          [
            `Redis connections with ${int(fanout.subscriptions)} subscriptions`,
            `${fanout.connectionsDuring.length}: ${tally(fanout.connectionsDuring)}`,
          ],
          ['PUBSUB NUMSUB on the channel', String(fanout.numsub)],
          [
            'delivery',
            `${int(fanout.events)} events × ${int(fanout.subscriptions)} subscriptions: ${fanout.allComplete ? 'all received' : 'INCOMPLETE'}, dropped ${fanout.dropped}`,
          ],
          ['events/s delivered (total over all subscriptions)', int(fanout.deliveredTotal / fanout.seconds)],
        ],
        [false, false],
      ),
    );

    console.log(`\n${describeLoad(load.stop())}`);

    // verdicts, on medians of per-round ratios
    const verdicts = new Verdicts();
    for (const base of ['ioredis', 'ioredis-auto'] as const) {
      const same = median(rateRatios('tidings', base, 'same'));
      const two = median(rateRatios('tidings', base, 'two'));
      verdicts.check(
        `throughput ≥ 70% of ${LABEL[base]}`,
        `same process ${pct(same)}, two processes ${pct(two)}`,
        same >= 0.7 && two >= 0.7,
      );
    }
    const streamSame = median(rateRatios('tidings-stream', 'ioredis-stream', 'same'));
    const streamTwo = median(rateRatios('tidings-stream', 'ioredis-stream', 'two'));
    verdicts.check(
      `Redis Streams throughput ≥ 70% of ${LABEL['ioredis-stream']}`,
      `same process ${pct(streamSame)}, two processes ${pct(streamTwo)}`,
      streamSame >= 0.7 && streamTwo >= 0.7,
    );
    const aheadOfGraphql = (['same', 'two'] as const).every(
      (mode) => median(rateRatios('tidings', 'graphql-redis-subscriptions', mode)) > 1,
    );
    verdicts.check(
      'ahead of graphql-redis-subscriptions in both modes',
      (['same', 'two'] as const)
        .map((mode) => pct(median(rateRatios('tidings', 'graphql-redis-subscriptions', mode))))
        .join(' / '),
      aheadOfGraphql,
    );
    const allCpu = (lib: Lib, mode: Mode): string => micros(median(cpu(lib, mode)) + median(redisCpu(lib, mode)));
    verdicts.note(
      `(load-independent cross-check, CPU per event, Node + redis-server, same / two processes: ${LIBS.map(
        (lib) => `${lib} ${allCpu(lib, 'same')} / ${allCpu(lib, 'two')} µs`,
      ).join(', ')})`,
    );
    const tidingsP99 = median(pick('tidings', 'p99'));
    for (const base of ['ioredis', 'ioredis-auto'] as const) {
      const ratio = median(latencyRatios('tidings', base, 'p99'));
      verdicts.check(
        `p99 ≤ 1 ms and ≤ 3x the p99 of ${LABEL[base]}`,
        `${ms(tidingsP99)} ms, ${times(ratio)}`,
        tidingsP99 <= 1 && ratio <= 3,
      );
    }
    const subscribers = fanout.connectionsDuring.filter((connection) => connection.endsWith('sub=1')).length;
    verdicts.check(
      '1,000 subscriptions on exactly one subscriber connection',
      `${subscribers} subscriber connection(s), ${fanout.connectionsDuring.length} in all`,
      subscribers === 1 && fanout.connectionsDuring.length === 2 && fanout.allComplete,
    );
    const clients = (['ioredis', 'ioredis-auto', 'node-redis'] as const).map(
      (lib) =>
        `${lib} ${int(median(rates(lib, 'same')))} / ${int(median(rates(lib, 'two')))} events/s, ` +
        `CPU ${micros(median(cpu(lib, 'same')))} / ${micros(median(cpu(lib, 'two')))} µs per event, ` +
        `p99 ${ms(median(pick(lib, 'p99')))} ms`,
    );
    verdicts.note(`Raw clients (same / two processes): ${clients.join('; ')}.`);
    verdicts.print();
  } finally {
    await server.stop();
  }
}

const [role, ...args] = process.argv.slice(2);
switch (role) {
  case undefined:
  case '--rounds':
    await main();
    break;
  case 'throughput':
    await reply(() => runThroughput(args[0] as Lib, args[1] as Mode, args[2] as string, args[3] as string));
    break;
  case 'publisher':
    await runPublisherChild(args[0] as Lib, args[1] as string, args[2] as string, Number(args[3]));
    break;
  case 'latency':
    await reply(() => runLatency(args[0] as Lib, args[1] as string, args[2] as string));
    break;
  case 'fanout':
    await reply(() => runFanout(args[0] as string, args[1] as string));
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
