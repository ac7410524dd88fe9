// A client whose connection is cut at 100 random points of a 5,000-event
// stream, reconnecting each time with the last id it saw, must end with
// exactly the published sequence: the runs behind src/gateway/resume-random-cut*.test.ts,
// with a raw HTTP client and with the `eventsource` package Enduro's dashboard uses.
// Set RESUME_SEED to replay a run; each run prints its seed.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { EventSource } from 'eventsource';
import { waitFor } from '../../src/conformance/harness.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { createMonitorGateway } from '../../src/gateway/monitor-gateway.js';
import type { IngestEventService } from '../../src/monitor/services.js';
import { type CutProxy, startCutProxy } from './cut-proxy.js';
import { startRedisServer } from './redis-server.js';
import { streamOnce } from './resume-client.js';
import { readIngest, seqEvent } from './seq-monitor-events.js';
import { until } from './sse-client.js';
import { publishSteadily } from './steady-producer.js';

export const EVENTS = 5_000;
export const CUTS = 100;
/** Events per second: a steady stream the cuts land in. */
const RATE = 1_000;
const TOKEN = 'random-cut-token';
const RUN_TIMEOUT_MS = 60_000;

export const SEED = Number(process.env.RESUME_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `CUTS` distinct event counts in [1, EVENTS), ascending: after how many events each cut happens. */
/** Events the eventsource run keeps after its last cut point, for cuts the relay made late. */
const EVENTS_AFTER_LAST_RELAY_CUT = 1_000;

function cutPoints(seed: number, before = EVENTS): number[] {
  const next = random(seed);
  const points = new Set<number>();
  while (points.size < CUTS) points.add(1 + Math.floor(next() * (before - 1)));
  return [...points].sort((a, b) => a - b);
}

/** Publishes seq 0..EVENTS-1 at a steady pace; `published` counts what went out. */
class SteadyPublisher {
  published = 0;
  readonly done: Promise<number>;

  constructor(publish: (seq: number) => void) {
    this.done = publishSteadily(
      RATE,
      (seq) => {
        publish(seq);
        this.published = seq + 1;
      },
      { count: EVENTS },
    );
  }
}

/** One backend under test: a gateway over it and a way to publish into it. */
interface Target {
  readonly name: string;
  readonly gateway: Gateway;
  readonly url: string;
  readonly publish: (seq: number) => void;
}

/** What a run saw, for the record and the assertions. */
interface Tally {
  cuts: number;
  connections: number;
  replayed: number;
  gaps: number;
  received: number[];
}

function check(t: TestContext, target: string, client: string, tally: Tally): void {
  const seen = new Set<number>();
  let duplicates = 0;
  for (const seq of tally.received) {
    if (seen.has(seq)) duplicates++;
    seen.add(seq);
  }
  let holes = 0;
  for (let seq = 0; seq < EVENTS; seq++) if (!seen.has(seq)) holes++;
  const line =
    `random-cut ${target} (${client}): seed ${SEED}, cuts ${tally.cuts}, connections ${tally.connections}, ` +
    `events ${tally.received.length}, replayed ${tally.replayed}, duplicates ${duplicates}, holes ${holes}, gaps ${tally.gaps}`;
  t.diagnostic(line);
  console.log(line);
  assert.equal(tally.cuts, CUTS);
  assert.equal(tally.connections, CUTS + 1, 'one connection per cut, plus the first');
  assert.equal(duplicates, 0, 'no event twice');
  assert.equal(holes, 0, 'no event missing');
  assert.equal(tally.gaps, 0, 'no gap notice: nothing was lost');
  assert.deepEqual(
    tally.received,
    Array.from({ length: EVENTS }, (_, seq) => seq),
    'exactly the published sequence',
  );
}

/** The raw HTTP client: cut after each cut point's event, reconnect at once with the last id. */
async function rawRun(t: TestContext, target: Target): Promise<void> {
  const cuts = cutPoints(SEED);
  const tally: Tally = { cuts: 0, connections: 0, replayed: 0, gaps: 0, received: [] };
  let lastId: string | undefined;
  let publisher: SteadyPublisher | undefined;
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (tally.received.length < EVENTS) {
    assert.ok(Date.now() < deadline, `run not done after ${RUN_TIMEOUT_MS} ms: ${tally.received.length} events`);
    tally.connections++;
    const publishedAtConnect = publisher?.published ?? 0;
    const opened = streamOnce(target.url, {
      headers: { authorization: `Bearer ${TOKEN}` },
      lastId,
      onFrame: (frame) => {
        if (frame.event === 'gap') tally.gaps++;
        if (frame.event !== 'message') return undefined;
        const { type, seq } = readIngest(frame);
        if (type === 'ingest_ping_event' || seq === undefined) return undefined;
        tally.received.push(seq);
        if (seq < publishedAtConnect) tally.replayed++;
        if (tally.received.length === cuts[tally.cuts]) {
          tally.cuts++;
          return 'cut';
        }
        // Done: the last connection is closed by the client, not counted as a cut.
        return tally.received.length === EVENTS ? 'cut' : undefined;
      },
    });
    if (publisher === undefined) {
      // The first connection is live before anything is published.
      await until(() => target.gateway.openStreams === 1);
      publisher = new SteadyPublisher(target.publish);
    }
    const outcome = await opened;
    assert.equal(outcome.status, 200);
    lastId = outcome.lastId;
  }
  await publisher?.done;
  check(t, target.name, 'raw HTTP', tally);
}

/** The `eventsource` client through a relay that cuts its connection; it reconnects by itself with Last-Event-ID. */
async function eventSourceRun(t: TestContext, target: Target, proxy: CutProxy): Promise<void> {
  // The relay cuts asynchronously: the client may still read what the cut connection had carried, and a cut
  // point passed meanwhile waits for the next connection. Points leave room for all of them before the end.
  const cuts = cutPoints(SEED + 1, EVENTS - EVENTS_AFTER_LAST_RELAY_CUT);
  const tally: Tally = { cuts: 0, connections: 0, replayed: 0, gaps: 0, received: [] };
  let publisher: SteadyPublisher | undefined;
  let publishedAtConnect = 0;
  /** Cut and not yet reconnected: what the client still reads from the cut connection's last chunk does not cut again. */
  let awaitingOpen = false;
  const path = new URL(target.url).pathname;
  const source = new EventSource(`${proxy.url}${path}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${TOKEN}` } }),
  });
  try {
    source.addEventListener('open', () => {
      tally.connections++;
      awaitingOpen = false;
      publishedAtConnect = publisher?.published ?? 0;
    });
    source.addEventListener('gap', () => {
      tally.gaps++;
    });
    source.addEventListener('message', (message) => {
      const { type, seq } = readIngest({ event: 'message', data: message.data, id: undefined, retry: undefined });
      if (type === 'ingest_ping_event' || seq === undefined) return;
      tally.received.push(seq);
      if (seq < publishedAtConnect) tally.replayed++;
      // A cut point reached while already cut moves to the first event of the next connection.
      if (!awaitingOpen && tally.received.length >= (cuts[tally.cuts] ?? Number.POSITIVE_INFINITY)) {
        tally.cuts++;
        awaitingOpen = true;
        proxy.cut();
      }
    });
    await until(() => target.gateway.openStreams === 1, 10_000, 'the eventsource client to connect');
    publisher = new SteadyPublisher(target.publish);
    await waitFor(
      () => `all ${EVENTS} events (have ${tally.received.length}, cuts ${tally.cuts})`,
      () => tally.received.length >= EVENTS,
      RUN_TIMEOUT_MS,
    );
    // The last cut may come so late that the cut connection already carried the last event: wait for the reconnect.
    await waitFor(
      () => `the reconnect after cut ${tally.cuts} (connections ${tally.connections})`,
      () => tally.connections === tally.cuts + 1,
      RUN_TIMEOUT_MS,
    );
    await publisher.done;
  } finally {
    source.close();
  }
  check(t, target.name, `eventsource ${'5.1.1'}`, tally);
}

async function gatewayOver(ingest: IngestEventService): Promise<{ gateway: Gateway; url: string }> {
  const gateway = createMonitorGateway({
    ingest,
    tokens: [{ token: TOKEN }],
    dashboard: false,
    pingIntervalMs: 600_000,
    // A reconnecting EventSource waits this long: short, so 100 cuts take seconds.
    retryMs: 5,
  });
  const url = `${await gateway.listen()}/ingest/monitor`;
  return { gateway, url };
}

/** A backend under the random-cut runs: the gateway's service and a producer publishing into the same channel. */
export interface RandomCutBackend {
  readonly name: string;
  /** Whether it needs a private redis-server (its URL is then passed to `open`). */
  readonly redis: boolean;
  open(redisUrl: string, channel: string): { ingest: IngestEventService; producer: IngestEventService };
  /** Checked before the run (e.g. whether the gateway window or the backend's own history serves it). */
  readonly expectReplay: boolean;
}

/** Registers the raw HTTP and eventsource runs over `backend`, each with a deadline, everything stopped whatever happens. */
export function randomCutRuns(backend: RandomCutBackend): void {
  describe(`${backend.name}: resume at ${CUTS} random cuts of a ${EVENTS.toLocaleString('en')}-event stream (seed ${SEED})`, () => {
    let redisUrl = '';
    let stopRedis: () => Promise<void> = async () => {};
    if (backend.redis) {
      before(async () => {
        const redis = await startRedisServer();
        redisUrl = redis.url;
        stopRedis = redis.stop;
      });
      after(() => stopRedis());
    }
    for (const client of ['raw HTTP', 'eventsource'] as const) {
      it(`${client}: exactly the published sequence`, { timeout: RUN_TIMEOUT_MS + 10_000 }, async (t) => {
        const { ingest, producer } = backend.open(redisUrl, `random-cut-${client.replace(' ', '-')}`);
        const { gateway, url } = await gatewayOver(ingest);
        const proxy = await startCutProxy(Number(new URL(url).port));
        try {
          assert.equal(ingest.replay !== undefined, backend.expectReplay, 'who keeps the history');
          const target = {
            name: backend.name,
            gateway,
            url,
            publish: (seq: number) => producer.publish(seqEvent(seq)),
          };
          if (client === 'raw HTTP') await rawRun(t, target);
          else await eventSourceRun(t, target, proxy);
        } finally {
          await proxy.close();
          await gateway.close();
          await ingest.close();
          if (producer !== ingest) await producer.close();
        }
      });
    }
  });
}
