/**
 * What instrumentation costs: the in-memory and Redis benchmarks, each run
 * with no OpenTelemetry SDK (the API's no-op, the default) and with a real
 * SDK (spans batched to an exporter that discards, metrics with a reader),
 * sampling every trace or 10% of them, and sampling every trace with a span
 * of its own for every publish (`spanPerPublish`), side by side in one run.
 *
 *   npm run bench:telemetry
 *
 * Below the table: the floor under "a PRODUCER span per publish" (Tidings
 * uninstrumented, one bare SDK span started and ended beside each publish, in
 * the same Redis runs); the instrumentation calls themselves with no SDK (their
 * cost per publish, next to the cost of the whole publish); a bare SDK span in
 * a tight loop, the SDK's best case; and the publishing side alone, CPU and GC
 * pauses per event, where most of the SDK's cost lands.
 *
 * Everything runs in interleaved rounds (`--rounds`, default 5), the order of
 * the modes rotated each round; every figure is the median over the rounds
 * with its spread (min–max), and every cost is taken within a round, against
 * that round's no-SDK run.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type MeterProvider as ApiMeterProvider,
  type Attributes,
  SpanKind,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { createInMemoryEventService } from '../src/backends/memory/memory-event-service.js';
import type { Subscription } from '../src/core/contract.js';
import { ingestCodec } from '../src/monitor/codec.js';
import { newIngestEventServiceRedis } from '../src/monitor/redis-services.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
import { Instrumentation } from '../src/observability/instrumentation.js';
import { canonicalFixtures } from '../test/fixtures/load.js';
import { startRedisServer } from '../test/support/redis-server.js';
import {
  describeLoad,
  describeSetup,
  failOnStall,
  formatRate,
  inChild,
  interleaved,
  median,
  percent,
  reply,
  roundsOption,
  spreadOf,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const MEMORY_SUBSCRIBERS = 10;
const MEMORY_EVENTS = 400_000;
const REDIS_EVENTS = 60_000;
const BATCH = 1_000;
const ROUNDS = roundsOption(5);
/** A Redis run whose subscriber got nothing for this long lost events (publishes timed out on a loaded host). */
const STALL_MS = 15_000;

interface Sdk {
  tracerProvider?: TracerProvider;
  meterProvider?: ApiMeterProvider;
  /** Passed on to the services: a span of its own for every publish. */
  spanPerPublish?: boolean;
  shutdown(): Promise<void>;
}

const discard: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};

class QuietReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function noSdk(): Sdk {
  return { shutdown: () => Promise.resolve() };
}

/**
 * Instrumentation modes: no SDK; an SDK sampling every trace; an SDK sampling
 * 10% of traces (parent-based); an SDK sampling every trace with a span of its
 * own for every publish (`spanPerPublish`, what a publish inside a trace gets).
 */
type Mode = 'off' | 'on' | 'sampled' | 'every';
const MODES: readonly Mode[] = ['off', 'on', 'sampled', 'every'];

function sdkFor(mode: Mode): Sdk {
  if (mode === 'off') return noSdk();
  const sdk = realSdk(mode === 'sampled' ? 0.1 : undefined);
  return mode === 'every' ? { ...sdk, spanPerPublish: true } : sdk;
}

/**
 * The floor under "a PRODUCER span per publish": Tidings gets no SDK, and the
 * bench starts and ends one bare span per publish beside it, with the SDK
 * sampling every trace. No implementation of that span can cost less.
 */
const FLOOR = 'floor';
type Variant = Mode | typeof FLOOR;

/** The attributes Tidings gives a publish span at start (the sampler sees them), without the event type. */
const FLOOR_ATTRIBUTES: Attributes = {
  'messaging.system': 'redis',
  'messaging.destination.name': 'bench',
  'messaging.operation.type': 'send',
  'messaging.operation.name': 'publish',
};

/** For the floor: a function that starts and ends one bare SDK span, and the SDK to shut down after. */
function floorSpans(): { span: () => void; sdk: Sdk } {
  const sdk = realSdk(undefined);
  const tracer: Tracer = (sdk.tracerProvider as TracerProvider).getTracer('bench-floor');
  const options = { kind: SpanKind.PRODUCER, attributes: FLOOR_ATTRIBUTES };
  return { span: () => tracer.startSpan('publish bench', options).end(), sdk };
}

/** The SDK as an application sets it up: default sampler (every trace) unless `ratio`, default batch sizes. */
function realSdk(ratio: number | undefined): Sdk {
  const tracerProvider = new BasicTracerProvider({
    ...(ratio === undefined ? {} : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) }),
    spanProcessors: [new BatchSpanProcessor(discard)],
  });
  const meterProvider = new MeterProvider({ readers: [new QuietReader()] });
  return {
    tracerProvider,
    meterProvider,
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Reads until `count` events arrived; resolves with the count. */
async function drain<T>(sub: Subscription<T>, count: number, progress: { n: number }): Promise<void> {
  for await (const _ of sub) {
    if (++progress.n === count) return;
  }
}

async function memoryRun(sdk: Sdk): Promise<number> {
  const events = createInMemoryEventService<{ seq: number }>({
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
    eventType: () => 'seq',
  });
  const subs = await Promise.all(
    Array.from({ length: MEMORY_SUBSCRIBERS }, () => events.subscribe({ bufferSize: BATCH * 2 })),
  );
  const progress = subs.map(() => ({ n: 0 }));
  const done = subs.map((sub, i) => drain(sub, MEMORY_EVENTS, progress[i] as { n: number }));
  const started = performance.now();
  for (let seq = 0; seq < MEMORY_EVENTS; ) {
    const end = seq + BATCH;
    for (; seq < end; seq++) events.publish({ seq });
    while (progress.some((p) => p.n < seq)) await nextMacrotask();
  }
  await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;
  if (subs.some((sub) => sub.dropped > 0)) throw new Error('memory run dropped events');
  await events.close();
  return (MEMORY_EVENTS * MEMORY_SUBSCRIBERS) / seconds;
}

async function redisRun(
  url: string,
  sdk: Sdk,
  event: MonitorEvent,
  round: number,
  beside?: () => void,
): Promise<number> {
  const config = { redisAddress: url, redisChannel: `bench-telemetry-${round}-${Math.random()}` };
  const publisher = newIngestEventServiceRedis(undefined, sdk.tracerProvider, {
    ...config,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
  });
  const subscriber = newIngestEventServiceRedis(undefined, sdk.tracerProvider, {
    ...config,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
  });
  const sub = await subscriber.subscribe({ bufferSize: BATCH * 4 });
  const progress = { n: 0 };
  try {
    await publisher.publishConfirmed(event); // connected
    await sub.next();
    const done = drain(sub, REDIS_EVENTS, progress);
    const started = performance.now();
    await failOnStall(
      async (signal) => {
        for (let sent = 0; sent < REDIS_EVENTS; ) {
          const end = sent + BATCH;
          for (; sent < end; sent++) {
            beside?.();
            publisher.publish(event);
          }
          while (progress.n < sent - BATCH && !signal.aborted) await nextMacrotask();
        }
        await done;
      },
      () => progress.n,
      STALL_MS,
      'same-process Redis run',
    );
    const seconds = (performance.now() - started) / 1000;
    if (sub.dropped + subscriber.stats.reconnects > 0) throw new Error('redis run lost events');
    return REDIS_EVENTS / seconds;
  } finally {
    await Promise.all([publisher.close(), subscriber.close()]);
  }
}

/**
 * The realistic deployment: publisher and subscriber are separate services,
 * each paying only its own side. The child publishes in windows and waits for
 * the parent to have received all but one window before the next.
 */
async function redisTwoProcessRun(url: string, variant: Variant, round: number): Promise<number> {
  const sdk = sdkFor(variant === FLOOR ? 'off' : variant);
  const config = { redisAddress: url, redisChannel: `bench-telemetry-2p-${round}-${Math.random()}` };
  const subscriber = newIngestEventServiceRedis(undefined, sdk.tracerProvider, {
    ...config,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
  });
  const sub = await subscriber.subscribe({ bufferSize: BATCH * 4 });
  const child = fork(fileURLToPath(import.meta.url), ['--publisher', url, config.redisChannel, variant], {
    execArgv: ['--import', 'tsx'],
  });
  let received = 0;
  try {
    await once(child, 'message'); // connected
    let started = 0;
    child.send('go');
    await failOnStall(
      async () => {
        for await (const _ of sub) {
          if (received === 0) started = performance.now();
          received++;
          if (received % BATCH === 0) child.send('go');
          if (received === REDIS_EVENTS) break;
        }
      },
      () => received,
      STALL_MS,
      'two-process Redis run',
    );
    const seconds = (performance.now() - started) / 1000;
    child.send('stop');
    await once(child, 'exit');
    if (sub.dropped + subscriber.stats.reconnects > 0) throw new Error('two-process redis run lost events');
    return REDIS_EVENTS / seconds;
  } finally {
    if (child.exitCode === null) child.kill();
    await subscriber.close();
    await sdk.shutdown();
  }
}

/** Child side of {@link redisTwoProcessRun}: publish a window per `go`, keeping one window ahead. */
async function publisherChild(url: string, channel: string, variant: Variant): Promise<void> {
  const floor = variant === FLOOR ? floorSpans() : undefined;
  const sdk = floor ? noSdk() : sdkFor(variant as Mode);
  const publisher = newIngestEventServiceRedis(undefined, sdk.tracerProvider, {
    redisAddress: url,
    redisChannel: channel,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
  });
  const event = sipUpdated();
  await publisher.publishConfirmed({ type: 'ingest_ping_event', value: { message: 'connect' } });
  let sent = 0;
  const publishWindow = (): void => {
    for (let i = 0; i < BATCH && sent < REDIS_EVENTS; i++, sent++) {
      floor?.span();
      publisher.publish(event);
    }
  };
  process.on('message', async (message) => {
    if (message === 'go') {
      publishWindow();
      if (sent === BATCH) publishWindow(); // start one window ahead
    } else if (message === 'stop') {
      await publisher.close();
      await sdk.shutdown();
      await floor?.sdk.shutdown();
      process.disconnect?.();
    }
  });
  process.send?.('ready');
}

/** What publishing alone costs per event, in a fresh process: CPU (all threads) and main-thread GC pauses, µs. */
interface PublisherCost {
  cpu: number;
  gc: number;
}

const PUBLISHER_EVENTS = 100_000;

/**
 * Child side of {@link publisherCost}: publishes windows of {@link BATCH},
 * each closed by a confirmed publish so Redis answered all of it, with no
 * subscriber, and reports CPU and GC pauses per event.
 */
async function publisherCostChild(url: string, mode: Mode): Promise<PublisherCost> {
  const sdk = sdkFor(mode);
  const publisher = newIngestEventServiceRedis(undefined, sdk.tracerProvider, {
    redisAddress: url,
    redisChannel: `bench-telemetry-publisher-${Math.random()}`,
    meterProvider: sdk.meterProvider,
    spanPerPublish: sdk.spanPerPublish,
  });
  const event = sipUpdated();
  const publish = async (count: number): Promise<void> => {
    for (let sent = 0; sent < count; sent += BATCH) {
      for (let i = 1; i < BATCH; i++) publisher.publish(event);
      await publisher.publishConfirmed(event);
    }
  };
  await publish(20_000); // warm-up
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const started = process.cpuUsage();
  await publish(PUBLISHER_EVENTS);
  const used = process.cpuUsage(started);
  await nextMacrotask(); // GC entries are delivered asynchronously
  for (const entry of gc.takeRecords()) gcMs += entry.duration;
  gc.disconnect();
  await publisher.close();
  await sdk.shutdown();
  return { cpu: (used.user + used.system) / PUBLISHER_EVENTS, gc: (gcMs * 1_000) / PUBLISHER_EVENTS };
}

function publisherCost(url: string, mode: Mode): Promise<PublisherCost> {
  return inChild<PublisherCost>(fileURLToPath(import.meta.url), ['--publisher-cost', url, mode]);
}

function sipUpdated(): MonitorEvent {
  const fixture = canonicalFixtures().find((f) => f.file === 'sip_updated_event.full.json');
  const decoded = fixture ? ingestCodec.decode(fixture.text) : undefined;
  if (!decoded?.ok) throw new Error('fixture sip_updated_event.full.json missing');
  return decoded.event;
}

/** Nanoseconds per publish spent in instrumentation calls alone, with no SDK. */
function noopCallCost(): number {
  const telemetry = new Instrumentation('tidings.memory', 'bench');
  const n = 2_000_000;
  for (let i = 0; i < 100_000; i++) telemetry.endPublish(telemetry.startPublish('seq'));
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const span = telemetry.startPublish('seq');
    telemetry.delivered(MEMORY_SUBSCRIBERS);
    telemetry.endPublish(span);
  }
  return ((performance.now() - started) * 1e6) / n;
}

/**
 * CPU nanoseconds of the floor's bare span (a new trace each, like a publish
 * outside any trace) in a tight loop: the SDK's best case, next to the
 * floor measured beside real publishes.
 */
async function sdkSpanCost(): Promise<number> {
  const { span, sdk } = floorSpans();
  const spans = 300_000;
  const run = async (count: number): Promise<number> => {
    const started = process.cpuUsage();
    for (let done = 0; done < count; done += BATCH) {
      for (let i = 0; i < BATCH; i++) span();
      await nextMacrotask(); // let the batch processor export, as it does between windows
    }
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1_000) / count;
  };
  await run(50_000);
  const ns = await run(spans);
  await sdk.shutdown();
  return ns;
}

/** What one variant measures in one round; the floor has no in-memory or publishing-alone run. */
interface RoundResult {
  memory?: number;
  redis: number;
  redisTwo: number;
  publishing?: PublisherCost;
}

const VARIANTS: readonly Variant[] = [...MODES, FLOOR];

async function measure(url: string, event: MonitorEvent, variant: Variant, round: number): Promise<RoundResult> {
  if (variant === FLOOR) {
    const floor = floorSpans();
    const redis = await redisRun(url, noSdk(), event, round, floor.span);
    await floor.sdk.shutdown();
    return { redis, redisTwo: await redisTwoProcessRun(url, FLOOR, round) };
  }
  const sdk = sdkFor(variant);
  const memory = await memoryRun(sdk);
  const redis = await redisRun(url, sdk, event, round);
  await sdk.shutdown();
  const redisTwo = await redisTwoProcessRun(url, variant, round);
  return { memory, redis, redisTwo, publishing: await publisherCost(url, variant) };
}

type Measure = 'memory' | 'redis' | 'redisTwo';

async function main(): Promise<void> {
  console.log(describeSetup('Tidings telemetry overhead benchmark'));
  const load = watchLoad();
  const event = sipUpdated();
  const redis = await startRedisServer();
  let results: Map<Variant, RoundResult[]>;
  const repeated: string[] = [];
  try {
    // Rotate the modes round by round so drift on a shared machine hits every mode alike.
    results = await interleaved(
      ROUNDS,
      VARIANTS,
      async (variant, round) => {
        try {
          return await measure(redis.url, event, variant, round);
        } catch (error) {
          // Said below the results: a loaded host can make publishes time out, and those events are lost.
          repeated.push(`${variant} in round ${round + 1}: ${error instanceof Error ? error.message : String(error)}`);
          return await measure(redis.url, event, variant, round);
        }
      },
      (variant, round, result) =>
        process.stderr.write(
          `  round ${round + 1} ${variant.padEnd(7)} ${[result.memory, result.redis, result.redisTwo]
            .map((rate) => (rate === undefined ? '' : formatRate(rate)).padStart(10))
            .join(' ')}\n`,
        ),
    );
  } finally {
    await redis.stop();
  }
  const callNs: number[] = [];
  const spanNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    callNs.push(noopCallCost());
    spanNs.push(await sdkSpanCost());
  }

  const runsOf = (variant: Variant): RoundResult[] => results.get(variant) ?? [];
  const rates = (variant: Variant, what: Measure): number[] => runsOf(variant).map((run) => run[what] ?? Number.NaN);
  /** The share of the round's no-SDK rate that `variant` lost, round by round. */
  const costs = (variant: Variant, what: Measure): number[] => {
    const off = rates('off', what);
    return rates(variant, what).map((rate, round) => 1 - rate / (off[round] as number));
  };
  const cost = (variant: Variant, what: Measure): string => spreadOf(costs(variant, what), percent);
  const rate = (variant: Variant, what: Measure): string => spreadOf(rates(variant, what), formatRate);

  console.log(
    `\nmedian (min–max) of ${ROUNDS} interleaved rounds; each cost is taken against the same round's no-SDK run\n`,
  );
  const rows: [string, Measure][] = [
    [`in-memory, ${MEMORY_SUBSCRIBERS} \`for await\` subscribers (deliveries/s)`, 'memory'],
    ['Redis end to end, same process, validation on (events/s)', 'redis'],
    ['Redis end to end, publisher in another process (events/s)', 'redisTwo'],
  ];
  console.log(
    table(
      [
        'benchmark',
        'no SDK (default)',
        'SDK, every trace sampled',
        'cost',
        'SDK, 10% sampled',
        'cost',
        'SDK, every trace sampled, `spanPerPublish`',
        'cost',
      ],
      rows.map(([name, what]) => [
        name,
        rate('off', what),
        rate('on', what),
        cost('on', what),
        rate('sampled', what),
        cost('sampled', what),
        rate('every', what),
        cost('every', what),
      ]),
    ),
  );
  const floors = [
    ['same process', 'redis'],
    ['two processes', 'redisTwo'],
  ] as const;
  console.log(
    '\nFloor under "a PRODUCER span per publish" (Tidings with no SDK; one bare SDK span, kind PRODUCER with the ' +
      'four messaging attributes, started and ended beside each publish; every trace sampled): ' +
      floors
        .map(
          ([name, what]) =>
            `${name} ${rate(FLOOR, what)}, ${cost(FLOOR, what)} below no SDK ` +
            `(Tidings with \`spanPerPublish\`: ${cost('every', what)})`,
        )
        .join('; ') +
      '.',
  );
  const perPublishNs = 1e9 / (median(rates('off', 'memory')) / MEMORY_SUBSCRIBERS);
  const ns = (value: number): string => value.toFixed(0);
  console.log(
    `With no SDK, the instrumentation calls of one publish cost ${spreadOf(callNs, ns)} ns ` +
      `of the ${ns(perPublishNs)} ns an in-memory publish to ${MEMORY_SUBSCRIBERS} subscribers takes (median) ` +
      `(${spreadOf(
        callNs.map((value) => value / perPublishNs),
        percent,
      )}).`,
  );
  const redisEventNs = 1e9 / median(rates('off', 'redis'));
  const spanMedian = median(spanNs);
  console.log(
    `A bare SDK span in a tight loop, the SDK's best case, costs ${spreadOf(spanNs, ns)} ns of CPU here; a Redis event end ` +
      `to end takes ${ns(redisEventNs)} ns with no SDK (same process, median), so even at that cost a span per publish ` +
      `would take ${percent(spanMedian / (redisEventNs + spanMedian))} of same-process throughput.`,
  );
  const perEvent = (mode: Mode): string => {
    const costsOf = runsOf(mode).flatMap((run) => (run.publishing ? [run.publishing] : []));
    const micros = (value: number): string => value.toFixed(1);
    return `${spreadOf(
      costsOf.map((c) => c.cpu),
      micros,
    )} µs (GC pauses ${spreadOf(
      costsOf.map((c) => c.gc),
      micros,
    )} µs)`;
  };
  console.log(
    `Publishing alone (${PUBLISHER_EVENTS.toLocaleString('en-US')} events answered by Redis, fresh process), CPU per event: ` +
      `no SDK ${perEvent('off')}, every trace sampled ${perEvent('on')}, 10% sampled ${perEvent('sampled')}, ` +
      `every trace sampled with \`spanPerPublish\` ${perEvent('every')}.`,
  );
  if (repeated.length > 0) console.log(`Runs repeated after they lost events: ${repeated.join('; ')}.`);
  console.log(`\n${describeLoad(load.stop())}`);
  const verdicts = new Verdicts();
  for (const [name, what] of floors) {
    for (const mode of ['on', 'sampled'] as const) {
      const share = median(costs(mode, what));
      const which = mode === 'on' ? 'every trace sampled' : '10% sampled';
      verdicts.check(
        `SDK costs at most 25% of Redis throughput (${name}, ${which}, median of rounds)`,
        cost(mode, what),
        share <= 0.25,
      );
    }
    verdicts.note(
      `Not a target: with \`spanPerPublish\` (${name}, every trace sampled): ${cost('every', what)}; ` +
        `a bare SDK span beside each publish alone costs ${cost(FLOOR, what)}`,
    );
  }
  verdicts.print();
}

if (process.argv[2] === '--publisher') {
  const [, , , url, channel, variant] = process.argv;
  await publisherChild(url as string, channel as string, variant as Variant);
} else if (process.argv[2] === '--publisher-cost') {
  const [, , , url, mode] = process.argv;
  await reply(() => publisherCostChild(url as string, mode as Mode));
} else {
  await main();
}
