/**
 * How fast a browser that reconnects with `Last-Event-ID` is live again: the
 * time from its reconnect request to the first event published at that
 * moment, after the 1,000 it missed have been replayed to it. Side by side,
 * the same reconnect with nothing missed (what resuming itself costs).
 *
 *   npm run bench:resume
 *
 * Over the in-memory backend (its own history), Redis pub/sub (the gateway's
 * window) and Redis Streams (the stream's history, read with XRANGE), each on
 * a private redis-server. The gateway and the clients share this process;
 * candidates run in interleaved rounds (`--rounds`, default 7); figures are
 * the median (min–max) over the rounds. Every reconnect is also checked:
 * exactly the missed events, in order, then the live one.
 */
import { createMonitorGateway, type Gateway, type MonitorEvent } from '../src/index.js';
import { newIngestEventServiceRedis } from '../src/monitor/redis-services.js';
import { newIngestEventServiceRedisStream } from '../src/monitor/redis-stream-services.js';
import { type IngestEventService, newIngestEventServiceInMem } from '../src/monitor/services.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { type SseFrame, streamOnce } from '../test/support/resume-client.js';
import { readIngest, seqEvent } from '../test/support/seq-monitor-events.js';
import {
  describeLoad,
  describeSetup,
  interleaved,
  roundsOption,
  spreadOf,
  summarize,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(7);
const MISSED = 1_000;
const TARGET_MS = 100;
const TOKEN = 'bench-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A gateway over one backend, a producer into it, and a client that always reads, to know what the gateway has. */
interface Setup {
  readonly name: string;
  readonly url: string;
  readonly publish: (event: MonitorEvent) => void;
  /** The highest seq the always-connected client has seen. */
  readonly newest: () => number;
  close(): Promise<void>;
}

let nextSeq = 0;

async function setup(name: string, ingest: IngestEventService, producer: IngestEventService): Promise<Setup> {
  const gateway: Gateway = createMonitorGateway({ ingest, tokens: [{ token: TOKEN }], dashboard: false });
  const url = `${await gateway.listen()}/ingest/monitor`;
  let newest = -1;
  let watching = true;
  let hello = false;
  const watcher = streamOnce(url, {
    headers: auth,
    onFrame: (frame) => {
      const { seq } = readIngest(frame);
      if (seq === undefined) hello = true;
      else newest = Math.max(newest, seq);
      return watching ? undefined : 'cut';
    },
  });
  await until(() => hello, 'the watcher to connect');
  return {
    name,
    url,
    publish: (event) => producer.publish(event),
    newest: () => newest,
    async close() {
      watching = false;
      producer.publish(seqEvent(-2)); // wakes the watcher so it cuts
      await watcher;
      await gateway.close();
      await ingest.close();
      if (producer !== ingest) await producer.close();
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One reconnect after `missed` events: ms from the request to the live event, checked for exactness. */
async function reconnect(s: Setup, missed: number): Promise<number> {
  // A client reads one event and leaves; its Last-Event-ID is that event's position.
  const first = nextSeq++;
  let open = false;
  const leaving = streamOnce(s.url, {
    headers: auth,
    onFrame: (frame) => {
      const { seq } = readIngest(frame);
      if (seq === undefined) open = true;
      return seq === first ? 'cut' : undefined;
    },
  });
  // Its hello says the stream is open: what is published now reaches it live.
  await until(() => open, 'the first connection');
  s.publish(seqEvent(first));
  const { lastId } = await leaving;
  if (lastId === undefined) throw new Error('no id on the first event');
  for (let i = 0; i < missed; i++) s.publish(seqEvent(nextSeq++));
  await until(() => s.newest() >= nextSeq - 1, 'the gateway to have what the client missed');

  const live = nextSeq++;
  const got: number[] = [];
  let liveAt = 0;
  const started = performance.now();
  const back = streamOnce(s.url, {
    headers: auth,
    lastId,
    onFrame: (frame: SseFrame) => {
      const { seq } = readIngest(frame);
      if (seq === undefined) return undefined;
      got.push(seq);
      if (seq !== live) return undefined;
      liveAt = performance.now();
      return 'cut';
    },
  });
  // Published as the request leaves: the first event the client can only get live.
  s.publish(seqEvent(live));
  await back;
  const expected = Array.from({ length: missed + 1 }, (_, i) => first + 1 + i);
  if (got.length !== expected.length || got.some((seq, i) => seq !== expected[i])) {
    throw new Error(`${s.name}: resumed with ${got.length} events, not exactly the ${missed} missed + 1 live`);
  }
  return liveAt - started;
}

console.log(describeSetup('Tidings gateway resume latency'));
console.log(
  `a client reconnects with Last-Event-ID after missing ${MISSED.toLocaleString('en')} events; ` +
    `time from its request to the first live event; ${ROUNDS} interleaved rounds, median (min–max)\n`,
);
const load = watchLoad();
const redis = await startRedisServer();
const setups: Setup[] = [];
try {
  // In memory, the producer is the gateway's own service.
  const memory = newIngestEventServiceInMem();
  setups.push(await setup('in-memory (own history)', memory, memory));
  const pubsub = { redisAddress: redis.url, redisChannel: 'bench-resume' };
  setups.push(
    await setup(
      'Redis pub/sub (gateway window)',
      newIngestEventServiceRedis(undefined, undefined, pubsub),
      newIngestEventServiceRedis(undefined, undefined, pubsub),
    ),
  );
  const stream = { redisAddress: redis.url, streamKey: 'bench-resume' };
  setups.push(
    await setup(
      'Redis Streams (stream history)',
      newIngestEventServiceRedisStream(undefined, undefined, stream),
      newIngestEventServiceRedisStream(undefined, undefined, stream),
    ),
  );

  type Candidate = { setup: Setup; missed: number };
  const candidates: Candidate[] = setups.flatMap((s) => [
    { setup: s, missed: 0 },
    { setup: s, missed: MISSED },
  ]);
  // A warm-up round, not counted: first connections pay for JIT and connection setup.
  for (const c of candidates) await reconnect(c.setup, c.missed);
  const results = await interleaved(
    ROUNDS,
    candidates,
    (c) => reconnect(c.setup, c.missed),
    (c, round, ms) => console.error(`  round ${round + 1}: ${c.setup.name}, ${c.missed} missed: ${ms.toFixed(1)} ms`),
  );
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  const rows = setups.map((s) => {
    const of = (missed: number): number[] =>
      results.get(candidates.find((c) => c.setup === s && c.missed === missed) as Candidate) ?? [];
    return [s.name, spreadOf(of(0), ms), spreadOf(of(MISSED), ms)];
  });
  console.log(table(['backend', 'reconnect, nothing missed', `reconnect, ${MISSED} missed`], rows));
  console.log(`\n${describeLoad(load.stop())}`);
  const verdicts = new Verdicts();
  for (const s of setups) {
    const missed = results.get(candidates.find((c) => c.setup === s && c.missed === MISSED) as Candidate) ?? [];
    const median = summarize(missed).median;
    verdicts.check(`${s.name}: live within ${TARGET_MS} ms after replaying ${MISSED}`, ms(median), median < TARGET_MS);
  }
  verdicts.print();
} finally {
  for (const s of setups) await s.close().catch(() => {});
  await redis.stop();
}
