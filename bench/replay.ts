/**
 * Replay benchmark: how fast a new subscriber reads 100,000 retained events
 * (the `sip_updated_event` wire fixture, 712 bytes each) from the oldest on.
 *
 *   npm run bench:replay
 *
 * Side by side, in one run:
 *
 * - Tidings Redis Streams: `subscribe({ from: 'oldest' })` on a stream of
 *   100,000 entries; the subscription refills its buffer with `XRANGE` pages
 *   on the command connection, decoding and validating each event with the
 *   ingest codec, and joins live delivery at the end.
 * - raw ioredis `XRANGE` paging: a loop of `XRANGE key (<last> + COUNT <page>`
 *   with `JSON.parse` of each entry, no validation: the floor for reading the
 *   same entries from Node; and the same loop decoding with the ingest codec
 *   (validation on), the floor for what Tidings does per event.
 * - Tidings in-memory: `subscribe({ from: 'oldest' })` on a service whose
 *   history holds the same 100,000 events (no I/O, no decoding).
 *
 * Each run is a fresh process; the stream is filled once per run (not timed)
 * and the clock runs from `subscribe()` to the last event read. Every run
 * checks that all events arrived in order, with no gap. Rounds are
 * interleaved (`--rounds`, default 5); figures are medians (min–max).
 *
 * A private `redis-server` is started on a free port.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createInMemoryEventService } from '../src/backends/memory/memory-event-service.js';
import { ingestCodec } from '../src/monitor/codec.js';
import { newIngestEventServiceRedisStream } from '../src/monitor/redis-stream-services.js';
import type { MonitorEvent } from '../src/monitor/schemas.js';
import { startRedisServer } from '../test/support/redis-server.js';
import {
  describeLoad,
  describeSetup,
  formatRate,
  inChild,
  int,
  interleaved,
  median,
  reply,
  roundsOption,
  spreadOf,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

const EVENTS = 100_000;
/** Buffer of the replaying subscription, hence the largest XRANGE page it asks for; also the raw loop's page. */
const PAGE = 1_000;
const ROUNDS = roundsOption(5);
const TARGET_PER_SECOND = 200_000;

const SELF = fileURLToPath(import.meta.url);
const FIXTURE_TEXT = readFileSync(
  new URL('../test/fixtures/ingest/sip_updated_event.full.json', import.meta.url),
  'utf8',
).trim();
type SipUpdated = Extract<MonitorEvent, { type: 'sip_updated_event' }>;
const TEMPLATE = (JSON.parse(FIXTURE_TEXT) as { value: SipUpdated }).value;

function makeEvent(seq: number): SipUpdated {
  const { value } = TEMPLATE;
  return { type: 'sip_updated_event', value: { uuid: value.uuid, item: { ...value.item, file_count: seq } } };
}

const seqOf = (event: MonitorEvent): number =>
  event.type === 'sip_updated_event' ? (event.value.item.file_count ?? -1) : -1;

type Reader = 'tidings-stream' | 'ioredis-xrange' | 'ioredis-xrange-codec' | 'tidings-memory';
const READERS: readonly Reader[] = ['tidings-stream', 'ioredis-xrange', 'ioredis-xrange-codec', 'tidings-memory'];
const LABEL: Record<Reader, string> = {
  'tidings-stream': `Tidings Redis Streams, subscribe({ from: 'oldest' }), buffer ${int(PAGE)} (ingest codec, validation on)`,
  'ioredis-xrange': `raw ioredis XRANGE paging, ${int(PAGE)} per page, JSON.parse`,
  'ioredis-xrange-codec': `raw ioredis XRANGE paging, ${int(PAGE)} per page, ingest codec decode (validation on)`,
  'tidings-memory': "Tidings in-memory history, subscribe({ from: 'oldest' })",
};

interface ReplayResult {
  eventsPerSec: number;
  received: number;
  outOfOrder: number;
  gaps: number;
}

/** Appends the events as Tidings would (field `m`, the wire text), in pipelined chunks; not timed. */
async function fill(redis: Redis, key: string): Promise<void> {
  for (let seq = 0; seq < EVENTS; seq += 5_000) {
    const pipeline = redis.pipeline();
    for (let i = seq; i < seq + 5_000; i++) pipeline.xadd(key, '*', 'm', JSON.stringify({ value: makeEvent(i) }));
    await pipeline.exec();
  }
}

function tally(): { onSeq: (seq: number) => void; result: (seconds: number, gaps: number) => ReplayResult } {
  let received = 0;
  let outOfOrder = 0;
  return {
    onSeq: (seq) => {
      if (seq !== received) outOfOrder++;
      received++;
    },
    result: (seconds, gaps) => ({ eventsPerSec: received / seconds, received, outOfOrder, gaps }),
  };
}

async function runReplay(reader: Reader, url: string): Promise<ReplayResult> {
  const { onSeq, result } = tally();
  if (reader === 'tidings-memory') {
    const service = createInMemoryEventService<MonitorEvent>({ history: { maxEvents: EVENTS } });
    for (let seq = 0; seq < EVENTS; seq++) service.publish(makeEvent(seq));
    const started = performance.now();
    const sub = await service.subscribe({ from: 'oldest', bufferSize: PAGE });
    let gaps = 0;
    for (let i = 0; i < EVENTS; i++) {
      onSeq(seqOf((await sub.next()).value as MonitorEvent));
      if (sub.takeGap() !== undefined) gaps++;
    }
    const seconds = (performance.now() - started) / 1_000;
    await service.close();
    return result(seconds, gaps);
  }
  const key = `bench-replay-${process.pid}`;
  const redis = new Redis(url);
  try {
    await fill(redis, key);
    if (reader === 'ioredis-xrange' || reader === 'ioredis-xrange-codec') {
      const decode =
        reader === 'ioredis-xrange'
          ? (text: string): MonitorEvent => (JSON.parse(text) as { value: MonitorEvent }).value
          : (text: string): MonitorEvent => {
              const result = ingestCodec.decode(text);
              if (!result.ok) throw result.error;
              return result.event;
            };
      const started = performance.now();
      let last = '0-0';
      for (;;) {
        const page = await redis.xrange(key, `(${last}`, '+', 'COUNT', PAGE);
        for (const [id, fields] of page) {
          last = id;
          onSeq(seqOf(decode(fields[1] as string)));
        }
        if (page.length < PAGE) break;
      }
      return result((performance.now() - started) / 1_000, 0);
    }
    const service = newIngestEventServiceRedisStream(undefined, undefined, { redisAddress: url, streamKey: key });
    try {
      const started = performance.now();
      const sub = await service.subscribe({ from: 'oldest', bufferSize: PAGE });
      let gaps = 0;
      for (let i = 0; i < EVENTS; i++) {
        onSeq(seqOf((await sub.next()).value as MonitorEvent));
        if (sub.takeGap() !== undefined) gaps++;
      }
      return result((performance.now() - started) / 1_000, gaps);
    } finally {
      await service.close();
    }
  } finally {
    await redis.del(key);
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const load = watchLoad();
  try {
    console.log(describeSetup('Tidings replay benchmark'));
    console.log(
      `redis-server of its own on port ${server.port}; ${int(EVENTS)} retained events of ${FIXTURE_TEXT.length} bytes, ` +
        `read from the oldest by a new subscriber; ${ROUNDS} interleaved rounds, each run in a fresh process; median (min–max)\n`,
    );
    const results = await interleaved(
      ROUNDS,
      READERS,
      (reader) => inChild<ReplayResult>(SELF, ['replay', reader, server.url]),
      (reader, round, outcome) =>
        process.stderr.write(`  round ${round + 1} ${reader.padEnd(15)} ${formatRate(outcome.eventsPerSec)}\n`),
    );
    const rates = (reader: Reader): number[] => (results.get(reader) ?? []).map((run) => run.eventsPerSec);
    const ratios = (reader: Reader, base: Reader): number[] => {
      const baseRates = rates(base);
      return rates(reader).map((value, round) => value / (baseRates[round] as number));
    };
    console.log(`Replay of ${int(EVENTS)} retained events to a new subscriber\n`);
    console.log(
      table(
        ['reader', 'events/s', 'vs raw XRANGE paging', 'vs raw XRANGE + codec', 'checks'],
        READERS.map((reader) => {
          const runs = results.get(reader) ?? [];
          const missing = runs.reduce((sum, run) => sum + (EVENTS - run.received), 0);
          const disorder = runs.reduce((sum, run) => sum + run.outOfOrder, 0);
          const gaps = runs.reduce((sum, run) => sum + run.gaps, 0);
          const notes: string[] = [];
          if (missing !== 0) notes.push(`${int(missing)} missing`);
          if (disorder !== 0) notes.push(`${int(disorder)} out of order`);
          if (gaps !== 0) notes.push(`${gaps} gaps`);
          return [
            LABEL[reader],
            spreadOf(rates(reader), formatRate),
            spreadOf(ratios(reader, 'ioredis-xrange'), times),
            spreadOf(ratios(reader, 'ioredis-xrange-codec'), times),
            notes.length === 0 ? 'all, in order, no gap' : notes.join('; '),
          ];
        }),
      ),
    );
    console.log(`\n${describeLoad(load.stop())}`);
    const verdicts = new Verdicts();
    const streams = median(rates('tidings-stream'));
    verdicts.check(
      `Redis Streams replay ≥ ${int(TARGET_PER_SECOND)} events/s`,
      `${int(streams)} events/s (${times(median(ratios('tidings-stream', 'ioredis-xrange')))} raw XRANGE paging, ` +
        `${times(median(ratios('tidings-stream', 'ioredis-xrange-codec')))} raw XRANGE paging with the same codec)`,
      streams >= TARGET_PER_SECOND,
    );
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
  case 'replay':
    await reply(() => runReplay(args[0] as Reader, args[1] as string));
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
