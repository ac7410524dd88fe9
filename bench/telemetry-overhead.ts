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

const MEMORY_SUBSCRIBERS = 10;
const MEMORY_EVENTS = 400_000;
const REDIS_EVENTS = 60_000;
const BATCH = 1_000;
const ROUNDS = 5;

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
  await publisher.publishConfirmed(event); // connected
  await sub.next();
  const progress = { n: 0 };
  const done = drain(sub, REDIS_EVENTS, progress);
  const started = performance.now();
  for (let sent = 0; sent < REDIS_EVENTS; ) {
    const end = sent + BATCH;
    for (; sent < end; sent++) {
      beside?.();
      publisher.publish(event);
    }
    while (progress.n < sent - BATCH) await nextMacrotask();
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  const lost = sub.dropped + subscriber.stats.reconnects;
  await Promise.all([publisher.close(), subscriber.close()]);
  if (lost > 0) throw new Error('redis run lost events');
  return REDIS_EVENTS / seconds;
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
  await once(child, 'message'); // connected
  let received = 0;
  let started = 0;
  child.send('go');
  for await (const _ of sub) {
    if (received === 0) started = performance.now();
    received++;
    if (received % BATCH === 0) child.send('go');
    if (received === REDIS_EVENTS) break;
  }
  const seconds = (performance.now() - started) / 1000;
  child.send('stop');
  await once(child, 'exit');
  const lost = sub.dropped + subscriber.stats.reconnects;
  await subscriber.close();
  await sdk.shutdown();
  if (lost > 0) throw new Error('two-process redis run lost events');
  return REDIS_EVENTS / seconds;
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
async function publisherCostChild(url: string, mode: Mode): Promise<void> {
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
  const cost: PublisherCost = {
    cpu: (used.user + used.system) / PUBLISHER_EVENTS,
    gc: (gcMs * 1_000) / PUBLISHER_EVENTS,
  };
  process.send?.(cost, () => process.exit(0));
}

async function publisherCost(url: string, mode: Mode): Promise<PublisherCost> {
  const child = fork(fileURLToPath(import.meta.url), ['--publisher-cost', url, mode], {
    execArgv: ['--import', 'tsx'],
  });
  const [cost] = (await once(child, 'message')) as [PublisherCost];
  await once(child, 'exit');
  return cost;
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

function perMode<T>(): Record<Mode, T[]> {
  return { off: [], on: [], sampled: [], every: [] };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : `${(value / 1e3).toFixed(1)} k/s`;
}

async function main(): Promise<void> {
  const event = sipUpdated();
  const redis = await startRedisServer();
  const results: Record<string, Record<Mode, number[]>> = {
    [`in-memory, ${MEMORY_SUBSCRIBERS} for-await subscribers (deliveries/s)`]: perMode<number>(),
    'Redis end to end, same process, validation on (events/s)': perMode<number>(),
    'Redis end to end, publisher in another process (events/s)': perMode<number>(),
  };
  type Row = Record<Mode, number[]>;
  const [memoryRow, redisRow, redisTwoRow] = Object.values(results) as [Row, Row, Row];
  const publishing = perMode<PublisherCost>();
  const floorRuns = { sameProcess: [] as number[], twoProcesses: [] as number[] };
  try {
    // Alternate off/on within each round so drift on a shared machine hits both alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        const sdk = sdkFor(mode);
        memoryRow[mode].push(await memoryRun(sdk));
        redisRow[mode].push(await redisRun(redis.url, sdk, event, round));
        await sdk.shutdown();
        redisTwoRow[mode].push(await redisTwoProcessRun(redis.url, mode, round));
        publishing[mode].push(await publisherCost(redis.url, mode));
      }
      const floor = floorSpans();
      floorRuns.sameProcess.push(await redisRun(redis.url, noSdk(), event, round, floor.span));
      await floor.sdk.shutdown();
      floorRuns.twoProcesses.push(await redisTwoProcessRun(redis.url, FLOOR, round));
    }
  } finally {
    await redis.stop();
  }
  const callNs = noopCallCost();
  const spanNs = await sdkSpanCost();
  const perPublishNs = 1e9 / (median(memoryRow.off) / MEMORY_SUBSCRIBERS);

  console.log(`Telemetry overhead (node ${process.version}); median of ${ROUNDS} alternating rounds\n`);
  console.log(
    '| benchmark | no SDK (default) | SDK, every trace sampled | cost | SDK, 10% sampled | cost | ' +
      'SDK, every trace sampled, `spanPerPublish` | cost |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const shareBelow = (off: number[], runs: number[]): number => (median(off) - median(runs)) / median(off);
  const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
  const cost = (row: Row, mode: Mode): string => percent(shareBelow(row.off, row[mode]));
  for (const [name, row] of Object.entries(results)) {
    console.log(
      `| ${name} | ${formatRate(median(row.off))} | ${formatRate(median(row.on))} | ${cost(row, 'on')} | ` +
        `${formatRate(median(row.sampled))} | ${cost(row, 'sampled')} | ` +
        `${formatRate(median(row.every))} | ${cost(row, 'every')} |`,
    );
  }
  const floors = [
    ['same process', redisRow, floorRuns.sameProcess],
    ['two processes', redisTwoRow, floorRuns.twoProcesses],
  ] as const;
  console.log(
    '\nFloor under "a PRODUCER span per publish" (Tidings with no SDK; one bare SDK span, kind PRODUCER with the ' +
      'four messaging attributes, started and ended beside each publish; every trace sampled): ' +
      floors
        .map(
          ([name, row, runs]) =>
            `${name} ${formatRate(median(runs))}, ${percent(shareBelow(row.off, runs))} below no SDK ` +
            `(Tidings with \`spanPerPublish\`: ${cost(row, 'every')})`,
        )
        .join('; ') +
      '.',
  );
  console.log(
    `With no SDK, the instrumentation calls of one publish cost ${callNs.toFixed(0)} ns ` +
      `of the ${perPublishNs.toFixed(0)} ns an in-memory publish to ${MEMORY_SUBSCRIBERS} subscribers takes ` +
      `(${((callNs / perPublishNs) * 100).toFixed(1)}%).`,
  );
  const redisEventNs = 1e9 / median(redisRow.off);
  console.log(
    `A bare SDK span in a tight loop, the SDK's best case, costs ${spanNs.toFixed(0)} ns of CPU here; a Redis event end ` +
      `to end takes ${redisEventNs.toFixed(0)} ns with no SDK (same process), so even at that cost a span per publish ` +
      `would take ${((spanNs / (redisEventNs + spanNs)) * 100).toFixed(1)}% of same-process throughput.`,
  );
  const perEvent = (mode: Mode): string => {
    const cpu = median(publishing[mode].map((cost) => cost.cpu));
    const gc = median(publishing[mode].map((cost) => cost.gc));
    return `${cpu.toFixed(1)} µs (GC pauses ${gc.toFixed(1)} µs)`;
  };
  console.log(
    `Publishing alone (${PUBLISHER_EVENTS.toLocaleString('en-US')} events answered by Redis, fresh process), CPU per event: ` +
      `no SDK ${perEvent('off')}, every trace sampled ${perEvent('on')}, 10% sampled ${perEvent('sampled')}, ` +
      `every trace sampled with \`spanPerPublish\` ${perEvent('every')}.`,
  );
  for (const [name, row, floorRun] of floors) {
    for (const mode of ['on', 'sampled'] as const) {
      const share = shareBelow(row.off, row[mode]);
      const what = mode === 'on' ? 'every trace sampled' : '10% sampled';
      console.log(
        `Target: SDK costs at most 25% of Redis throughput (${name}, ${what}): ${percent(share)}, ` +
          `${share <= 0.25 ? 'met' : 'NOT met'}`,
      );
    }
    console.log(
      `Not a target: with \`spanPerPublish\` (${name}, every trace sampled): ${cost(row, 'every')}; ` +
        `a bare SDK span beside each publish alone costs ${percent(shareBelow(row.off, floorRun))}`,
    );
  }
}

if (process.argv[2] === '--publisher') {
  const [, , , url, channel, variant] = process.argv;
  await publisherChild(url as string, channel as string, variant as Variant);
} else if (process.argv[2] === '--publisher-cost') {
  const [, , , url, mode] = process.argv;
  await publisherCostChild(url as string, mode as Mode);
} else {
  await main();
}
