/**
 * What `tidings bridge` adds to an event's way from producer to consumer: a
 * producer sends 5,000 events/s (each ~300 bytes, carrying its send time) for
 * `--seconds` (default 10), and a consumer measures publish → receive, along
 * three paths side by side in one run, on a private redis-server:
 *
 * - pub/sub direct: PUBLISH, a SUBSCRIBEd consumer (what Tidings' Redis backend sees);
 * - XADD direct: the producer appends to the stream itself, a consumer in XREAD BLOCK;
 * - bridge: PUBLISH, a `tidings bridge` process copies into the stream, a consumer in XREAD BLOCK.
 *
 *   npm run bench:bridge [-- --rounds N --seconds S]
 *
 * Producer and consumers run in this process, so both ends read the same
 * clock; the bridge runs as its own process (the built CLI), as deployed.
 * The first second of each run is warm-up and not measured. Paths run in
 * interleaved rounds (default 5); every figure is the median over the rounds
 * with its spread (min–max). The target: the bridge adds at most 2 ms at p99.
 * What it adds is taken per event within the bridge run (the event's arrival
 * from the stream minus its arrival on a direct SUBSCRIBE beside it), which
 * the machine's load between runs cannot move the way it moves a difference
 * of two separate runs' p99s (printed too).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { CLI, ensureBuilt } from '../test/support/cli-process.js';
import { startRedisServer } from '../test/support/redis-server.js';
import {
  describeLoad,
  describeSetup,
  failOnStall,
  int,
  interleaved,
  median,
  percentile,
  roundsOption,
  spreadOf,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const RATE = 5_000;
const WARMUP_MS = 1_000;
const TARGET_ADDED_P99_MS = 2;
const PADDING = 'x'.repeat(260);

type Path = 'pub/sub direct' | 'XADD direct' | 'bridge';
const PATHS: readonly Path[] = (process.env.BENCH_PATHS?.split(',') as Path[] | undefined) ?? [
  'pub/sub direct',
  'XADD direct',
  'bridge',
];

interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

interface RunResult extends Quantiles {
  measured: number;
  sent: number;
  /** Bridge runs: per event, its arrival from the stream minus its arrival on a direct SUBSCRIBE in the same run. */
  added?: Quantiles;
}

function quantiles(values: number[]): Quantiles {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.at(-1) ?? Number.NaN };
}

function secondsOption(fallback: number): number {
  const at = process.argv.indexOf('--seconds');
  if (at < 0) return fallback;
  const seconds = Number(process.argv[at + 1]);
  if (!Number.isFinite(seconds) || seconds < 2) throw new TypeError(`--seconds: expected 2 or more`);
  return seconds;
}

/** Sends `total` events at RATE, on schedule (a late tick catches up), each with its send time. */
async function produce(total: number, send: (text: string) => void): Promise<void> {
  const started = performance.now();
  let seq = 0;
  while (seq < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * RATE) / 1_000) + 1);
    for (; seq < due; seq++) send(JSON.stringify({ seq, t: performance.now(), pad: PADDING }));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Starts a bridge process on `channel` and resolves once it holds the lease and is subscribed. */
async function startBridge(url: string, channel: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'bridge', '--redis', url, '--channel', channel, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const health = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /health on (http:\/\/\S+)\/readyz/.exec(output);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`bridge exited (${code}): ${output}`)));
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = (await (await fetch(`${health}/readyz`)).json()) as { role: string; subscribed: boolean };
    if (status.role === 'active' && status.subscribed) return child;
    if (Date.now() > deadline) throw new Error(`bridge not active: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function run(url: string, path: Path, round: number, seconds: number): Promise<RunResult> {
  const channel = `bench-${path.replace(/\W/g, '')}-${round}`;
  const total = RATE * seconds;
  const latencies: number[] = [];
  const warm = (seq: number): boolean => seq >= (RATE * WARMUP_MS) / 1_000;
  // Bridge runs: when each event came in on a direct SUBSCRIBE, to take what the bridge adds per event.
  const direct = new Float64Array(total).fill(Number.NaN);
  const added: number[] = [];
  let received = 0;
  const take = (text: string): void => {
    const now = performance.now();
    const { seq, t } = JSON.parse(text) as { seq: number; t: number };
    received++;
    if (!warm(seq)) return;
    latencies.push(now - t);
    const beside = direct[seq] as number;
    if (!Number.isNaN(beside)) added.push(now - beside);
  };
  const producer = new Redis(url);
  const consumer = new Redis(url);
  const watcher = new Redis(url);
  let bridge: ChildProcess | undefined;
  let reading = true;
  let reader: Promise<void> = Promise.resolve();
  try {
    if (path === 'pub/sub direct') {
      consumer.on('message', (_channel: string, text: string) => take(text));
      await consumer.subscribe(channel);
    } else {
      if (path === 'bridge') {
        bridge = await startBridge(url, channel);
        watcher.on('message', (_channel: string, text: string) => {
          const now = performance.now();
          direct[(JSON.parse(text) as { seq: number }).seq] = now;
        });
        await watcher.subscribe(channel);
      }
      reader = (async () => {
        let last = '0'; // a fresh stream per run: everything in it is this run's
        while (reading && received < total) {
          const answer = (await consumer.xread('COUNT', 1_000, 'BLOCK', 200, 'STREAMS', channel, last)) as
            | [string, [string, string[]][]][]
            | null;
          for (const [, entries] of answer ?? []) {
            for (const [id, fields] of entries) {
              last = id;
              take(fields[1] as string);
            }
          }
        }
      })();
    }
    const send =
      path === 'XADD direct'
        ? (text: string) => void producer.xadd(channel, 'MAXLEN', '~', '100000', '*', 'm', text)
        : (text: string) => void producer.publish(channel, text);
    await failOnStall(
      async (signal) => {
        await produce(total, send);
        while (received < total && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
      },
      () => received,
      3_000,
      `${path} round ${round}`,
    );
    reading = false;
    await reader;
    return {
      ...quantiles(latencies),
      measured: latencies.length,
      sent: total,
      ...(path === 'bridge' ? { added: quantiles(added) } : {}),
    };
  } finally {
    reading = false;
    await reader.catch(() => {});
    if (bridge !== undefined) {
      const exited = new Promise((resolve) => bridge?.once('exit', resolve));
      bridge.kill('SIGTERM');
      await exited;
    }
    producer.disconnect();
    consumer.disconnect();
    watcher.disconnect();
  }
}

const rounds = roundsOption(5);
const seconds = secondsOption(6);
ensureBuilt();
console.log(describeSetup('Tidings bridge latency benchmark'));
console.log(
  `${int(RATE)} events/s of ~300 bytes for ${seconds} s per run (first ${WARMUP_MS / 1_000} s not measured), ${rounds} interleaved rounds, private redis-server`,
);
const server = await startRedisServer();
const load = watchLoad();
try {
  const results = await interleaved(
    rounds,
    PATHS,
    (path, round) => run(server.url, path, round, seconds),
    (path, round, result) =>
      process.stderr.write(
        `round ${round + 1} ${path}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms\n`,
      ),
  );
  const ms = (value: number): string => `${value.toFixed(2)} ms`;
  const of = (path: Path): RunResult[] => results.get(path) ?? [];
  console.log(`\nPublish → consume latency, ${int(RATE)} events/s\n`);
  console.log(
    table(
      ['path', 'p50', 'p99', 'max', 'events measured / sent per run'],
      PATHS.map((path) => [
        path,
        spreadOf(
          of(path).map((r) => r.p50),
          ms,
        ),
        spreadOf(
          of(path).map((r) => r.p99),
          ms,
        ),
        spreadOf(
          of(path).map((r) => r.max),
          ms,
        ),
        `${int(of(path)[0]?.measured ?? 0)} / ${int(of(path)[0]?.sent ?? 0)}`,
      ]),
    ),
  );
  const perEvent = (pick: (q: Quantiles) => number): string =>
    spreadOf(
      of('bridge').map((r) => (r.added === undefined ? Number.NaN : pick(r.added))),
      ms,
    );
  console.log(
    `\nWhat the bridge adds per event (its arrival from the stream minus its arrival on a direct SUBSCRIBE, same run, same clock)\n`,
  );
  console.log(
    table(
      ['', 'p50', 'p99', 'max'],
      [['bridge − pub/sub direct, per event', perEvent((q) => q.p50), perEvent((q) => q.p99), perEvent((q) => q.max)]],
    ),
  );
  const overStream = of('bridge').map((r, i) => r.p99 - (of('XADD direct')[i]?.p99 ?? Number.NaN));
  console.log(
    `\np99 of the bridge path minus p99 of XADD direct, per round (separate runs, so the machine's load between runs moves it): ${spreadOf(overStream, ms)}`,
  );
  const verdicts = new Verdicts();
  const addedP99 = median(of('bridge').map((r) => r.added?.p99 ?? Number.NaN));
  verdicts.check(
    `bridge adds <= ${TARGET_ADDED_P99_MS} ms p99 at ${int(RATE)} events/s`,
    `${ms(addedP99)} per event over pub/sub direct (median of rounds)`,
    addedP99 <= TARGET_ADDED_P99_MS,
  );
  verdicts.print();
} finally {
  console.log(`\n${describeLoad(load.stop())}`);
  await server.stop();
}
