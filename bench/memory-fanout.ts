/**
 * In-memory fan-out benchmark: Tidings against Node's EventEmitter, emittery,
 * graphql-subscriptions, @graphql-yoga/subscription and a bare hand-written
 * ring-buffer async iterator (the ceiling for any `for await` delivery).
 *
 *   npm run bench:memory
 *
 * Two parts, both printed in one run:
 *
 * 1. Throughput: 1, 10 and 100 subscribers, each consumed by `for await`
 *    (EventEmitter also with a plain listener, as the synchronous reference).
 *    Every library gets the same paced publishing: a batch of BATCH events is
 *    published synchronously, then the publisher waits until every consumer
 *    has read the whole batch before publishing the next. Nothing can be
 *    dropped (Tidings' buffer holds a whole batch), and every consumer checks
 *    it saw every event in publish order; any loss fails the run.
 * 2. Stalled subscriber: 1,000,000 publishes while one subscriber never reads;
 *    heap growth after a forced gc.
 *
 * Each library runs in its own child process so that one library's JIT
 * feedback, garbage or unbounded buffers never touch another's numbers. The
 * throughput part runs in interleaved rounds (one fresh child per library per
 * round, the order rotated each round); each figure is the median over the
 * rounds with its spread, and ratios are taken within a round.
 */
import { EventEmitter, on, setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createPubSub } from '@graphql-yoga/subscription';
import Emittery from 'emittery';
import { PubSub } from 'graphql-subscriptions';
import {
  createInMemoryEventService,
  type InMemoryEventServiceOptions,
} from '../src/backends/memory/memory-event-service.js';
import type { Subscription } from '../src/core/contract.js';
import {
  describeLoad,
  describeSetup,
  formatRate,
  inChild,
  interleaved,
  median,
  reply,
  roundsOption,
  spreadOf,
  summarize,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

/** Events published before the publisher waits for every consumer to catch up. */
const BATCH = 1_000;
/** Tidings' per-subscriber buffer: a whole batch fits, so pacing guarantees no drop. */
const TIDINGS_BUFFER = 1_024;
const SUBSCRIBER_COUNTS = [1, 10, 100] as const;
/** Interleaved rounds, each a fresh child process per library; the median over rounds is reported. */
const ROUNDS = roundsOption(5);
/** Timed runs per library and subscriber count within one child (fewer when one run is slow); their median is the round's figure. */
const REPEATS = 3;
/** Target duration of one timed run; the event count is calibrated to it. */
const RUN_SECONDS = 0.2;
const STALLED_PUBLISHES = 1_000_000;
const STALLED_CHUNK = 10_000;
const STALLED_FAILURE_CAP = 10_000;
const MB = 1024 * 1024;

interface Event {
  readonly seq: number;
}

/** One library under test, reduced to what the benchmark needs. */
interface Bus {
  publish(event: Event): void;
  /** A `for await` subscriber, live once the returned iterable's first `next()` settled in (see settle()). */
  iterate?(): Promise<AsyncIterable<Event>>;
  /** The same, yielding listener argument lists (`events.on()`); the consumer destructures them. */
  iterateArgs?(): Promise<AsyncIterable<[Event]>>;
  /** A plain callback subscriber (synchronous reference only). */
  listen?(listener: (event: Event) => void): void;
  /** Throws if the library reports any loss (Tidings: `dropped`). */
  verify?(): void;
  close(): Promise<void>;
}

interface Library {
  name: string;
  /** Async-iterator peers are what the Tidings target is measured against. */
  kind: 'tidings' | 'variant' | 'async-iterator' | 'callback' | 'ceiling';
  /** `stalled`: for the stalled-subscriber run rather than the throughput run. */
  create(stalled?: boolean): Bus;
}

const EVENTS_ON = 'Node `events.on()`';

function unboundedEmitter(): EventEmitter {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0); // 100 subscribers is not a leak
  return emitter;
}

/**
 * The ceiling: the least an async iterator over a ring buffer can do. Growable,
 * unbounded, one pending reader, no options, no accounting.
 */
class RingIterator implements AsyncIterableIterator<Event> {
  #items: (Event | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;
  #waiter: ((result: IteratorResult<Event>) => void) | undefined;
  done = false;

  push(event: Event): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: false, value: event });
      return;
    }
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = event;
    this.#size++;
  }

  next(): Promise<IteratorResult<Event>> {
    if (this.#size > 0) {
      const value = this.#items[this.#head] as Event;
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) & (this.#items.length - 1);
      this.#size--;
      return Promise.resolve({ done: false, value });
    }
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<Event>> {
    this.done = true;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #grow(): void {
    const grown = new Array<Event | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) grown[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = grown;
    this.#head = 0;
  }
}

/** Tidings' in-memory service as a bench library; `history: false` shows what the replay history costs. */
function tidingsLibrary(name: string, kind: Library['kind'], options: InMemoryEventServiceOptions<Event>): Library {
  return {
    name,
    kind,
    create(stalled) {
      const service = createInMemoryEventService<Event>(options);
      const subs: Subscription<Event>[] = [];
      return {
        publish: (event) => service.publish(event),
        async iterate() {
          // The stalled run uses the defaults (buffer 256, drop-newest), as an ordinary subscriber would.
          const sub = await service.subscribe(stalled ? {} : { bufferSize: TIDINGS_BUFFER });
          subs.push(sub);
          return sub;
        },
        verify() {
          for (const sub of subs) {
            if (sub.dropped !== 0) throw new Error(`tidings subscription ${sub.id} dropped ${sub.dropped} events`);
          }
        },
        close: () => service.close(),
      };
    },
  };
}

const LIBRARIES: readonly Library[] = [
  tidingsLibrary('Tidings `createInMemoryEventService()`', 'tidings', {}),
  tidingsLibrary('Tidings, `history: false` (no replay)', 'variant', { history: false }),
  {
    name: 'bare ring-buffer async iterator (ceiling)',
    kind: 'ceiling',
    create() {
      let subs: RingIterator[] = [];
      return {
        publish(event) {
          for (const sub of subs) if (!sub.done) sub.push(event);
        },
        async iterate() {
          const sub = new RingIterator();
          subs.push(sub);
          return sub;
        },
        async close() {
          subs = [];
        },
      };
    },
  },
  {
    name: 'emittery `events()`',
    kind: 'async-iterator',
    create() {
      const emitter = new Emittery<{ event: Event }>();
      return {
        publish: (event) => void emitter.emit('event', event),
        iterate: async () => emitter.events('event'),
        async close() {
          emitter.clearListeners();
        },
      };
    },
  },
  {
    name: EVENTS_ON,
    kind: 'async-iterator',
    create() {
      const emitter = unboundedEmitter();
      return {
        publish: (event) => emitter.emit('event', event),
        iterateArgs: async () => on(emitter, 'event') as AsyncIterableIterator<[Event]>,
        async close() {
          emitter.removeAllListeners();
        },
      };
    },
  },
  {
    name: 'graphql-subscriptions `PubSub.asyncIterableIterator()`',
    kind: 'async-iterator',
    create() {
      const pubsub = new PubSub<{ event: Event }>({ eventEmitter: unboundedEmitter() });
      return {
        publish: (event) => void pubsub.publish('event', event),
        iterate: async () => pubsub.asyncIterableIterator<Event>('event'),
        async close() {},
      };
    },
  },
  {
    name: '@graphql-yoga/subscription `createPubSub().subscribe()`',
    kind: 'async-iterator',
    create() {
      const target = new EventTarget();
      setMaxListeners(0, target);
      const pubsub = createPubSub<{ event: [Event] }>({ eventTarget: target });
      return {
        publish: (event) => pubsub.publish('event', event),
        iterate: async () => pubsub.subscribe('event'),
        async close() {},
      };
    },
  },
  {
    name: 'EventEmitter listener (sync callback, not an iterator)',
    kind: 'callback',
    create() {
      const emitter = unboundedEmitter();
      return {
        publish: (event) => emitter.emit('event', event),
        listen: (listener) => void emitter.on('event', listener),
        async close() {
          emitter.removeAllListeners();
        },
      };
    },
  },
];

/** Lets lazily-subscribing iterators (graphql-subscriptions, Repeater) become live. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** What the publisher waits on: every consumer having read up to `target`. */
interface Gate {
  target: number;
  remaining: number;
  release(): void;
}

function arrivedAt(gate: Gate, count: number): void {
  if (count === gate.target && --gate.remaining === 0) gate.release();
}

function outOfOrder(library: string, expected: number, got: number): Error {
  return new Error(`${library}: consumer expected event ${expected}, got ${got}: events were lost or reordered`);
}

async function consume(library: string, iterable: AsyncIterable<Event>, total: number, gate: Gate): Promise<number> {
  let count = 0;
  for await (const event of iterable) {
    if (event.seq !== count) throw outOfOrder(library, count, event.seq);
    count++;
    arrivedAt(gate, count);
    if (count === total) break;
  }
  return count;
}

/** {@link consume} for iterators of listener argument lists, destructured as a consumer would. */
async function consumeArgs(
  library: string,
  iterable: AsyncIterable<[Event]>,
  total: number,
  gate: Gate,
): Promise<number> {
  let count = 0;
  for await (const [event] of iterable) {
    if (event.seq !== count) throw outOfOrder(library, count, event.seq);
    count++;
    arrivedAt(gate, count);
    if (count === total) break;
  }
  return count;
}

/** One paced fan-out run. @returns seconds from first publish until every consumer read the last event. */
async function fanOutRun(library: Library, subscribers: number, events: number): Promise<number> {
  const bus = library.create();
  const gate: Gate = { target: 0, remaining: 0, release: () => {} };
  const consumers: Promise<number>[] = [];
  const listenerCounts: number[] = [];
  for (let s = 0; s < subscribers; s++) {
    if (bus.iterate) {
      consumers.push(consume(library.name, await bus.iterate(), events, gate));
    } else if (bus.iterateArgs) {
      consumers.push(consumeArgs(library.name, await bus.iterateArgs(), events, gate));
    } else if (bus.listen) {
      listenerCounts.push(0);
      bus.listen((event) => {
        const count = listenerCounts[s] as number;
        if (event.seq !== count) throw outOfOrder(library.name, count, event.seq);
        listenerCounts[s] = count + 1;
        arrivedAt(gate, count + 1);
      });
    }
  }
  await settle();

  const start = performance.now();
  for (let published = 0; published < events; ) {
    const n = Math.min(BATCH, events - published);
    const caughtUp = new Promise<void>((resolve) => {
      gate.release = resolve;
    });
    gate.target = published + n;
    gate.remaining = subscribers;
    for (let i = 0; i < n; i++) bus.publish({ seq: published + i });
    published += n;
    await caughtUp;
  }
  const seconds = (performance.now() - start) / 1000;

  const counts = [...(await Promise.all(consumers)), ...listenerCounts];
  if (counts.length !== subscribers || counts.some((count) => count !== events)) {
    throw new Error(`${library.name}: expected ${subscribers} consumers x ${events} events, got ${counts.join(',')}`);
  }
  bus.verify?.();
  await bus.close();
  return seconds;
}

/**
 * Whole batches; below one batch (only the slowest peers at 100 subscribers get
 * there) hundreds, so that no run takes seconds. A smaller last batch can only
 * flatter a peer: it waits for its consumers more often, not less.
 */
function roundToBatch(events: number): number {
  if (events >= BATCH) return Math.round(events / BATCH) * BATCH;
  return Math.max(100, Math.round(events / 100) * 100);
}

interface ThroughputRow {
  library: string;
  kind: Library['kind'];
  subscribers: number;
  events: number;
  /** Delivered events per second (subscribers x events / time), median of REPEATS timed runs. */
  rate: number;
}

async function throughput(library: Library): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const subscribers of SUBSCRIBER_COUNTS) {
    // Calibrate: start at ~20k deliveries and grow until a run lasts a quarter of RUN_SECONDS,
    // then size the timed runs to RUN_SECONDS and warm up at that size (the JIT needs ~0.5 s).
    let probeEvents = roundToBatch(20_000 / subscribers);
    let probeSeconds = await fanOutRun(library, subscribers, probeEvents);
    while (probeSeconds < RUN_SECONDS / 4) {
      probeEvents *= 4;
      probeSeconds = await fanOutRun(library, subscribers, probeEvents);
    }
    const events = roundToBatch((probeEvents * RUN_SECONDS) / probeSeconds);
    const warmUps = probeSeconds > RUN_SECONDS ? 1 : 2;
    let seconds = 0;
    for (let w = 0; w < warmUps; w++) seconds = await fanOutRun(library, subscribers, events);
    // Slow peers: one timed run will do.
    const repeats = seconds > 2 * RUN_SECONDS ? 1 : REPEATS;
    const rates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      globalThis.gc?.();
      rates.push((subscribers * events) / (await fanOutRun(library, subscribers, events)));
    }
    rows.push({
      library: library.name,
      kind: library.kind,
      subscribers,
      events,
      rate: median(rates),
    });
  }
  return rows;
}

interface StalledRow {
  library: string;
  growthBytes: number;
  note: string;
}

function heapAfterGc(): number {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with --expose-gc (npm run bench:memory)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** 1,000,000 publishes while one subscriber, having asked for one event, never reads again. */
async function stalled(library: Library): Promise<StalledRow> {
  let failures = 0;
  let firstFailure = '';
  // A peer may throw from inside its event listener (Repeater's queue limit); count it, keep going.
  process.on('uncaughtException', (error) => {
    if (failures++ === 0) firstFailure = error instanceof Error ? error.message : String(error);
  });
  const bus = library.create(true);
  const iterable = bus.iterate ? await bus.iterate() : await bus.iterateArgs?.();
  if (!iterable) throw new Error(`${library.name} has no iterator to stall`);
  const iterator = iterable[Symbol.asyncIterator]();
  void iterator.next(); // start it (lazy subscribers subscribe on first next), then never read again
  await settle();
  const before = heapAfterGc();
  // Publish in chunks, yielding in between as a real publisher would, and stop a peer
  // whose every publish has started failing (reporting a million listener errors
  // would take most of a minute and say nothing new).
  let published = 0;
  while (published < STALLED_PUBLISHES && failures < STALLED_FAILURE_CAP) {
    for (let i = 0; i < STALLED_CHUNK; i++) bus.publish({ seq: published++ });
    await settle();
  }
  const growthBytes = heapAfterGc() - before;
  let note = '';
  if (library.kind === 'tidings' || library.kind === 'variant') {
    const sub = iterator as unknown as Subscription<Event>;
    note = `buffered ${sub.pending}, dropped ${sub.dropped.toLocaleString('en')} (counted, reported as a gap)`;
  } else if (failures > 0) {
    note =
      `${failures.toLocaleString('en')} of ${published.toLocaleString('en')} publishes threw in the listener ` +
      `(stopped there): "${firstFailure}"`;
  } else {
    note = 'buffers every event';
  }
  return { library: library.name, growthBytes, note };
}

// ---------------------------------------------------------------------------
// Parent: spawns one child per library, round and part, prints the tables.

const SELF = fileURLToPath(import.meta.url);
const BIG_HEAP = ['--max-old-space-size=8192'];

/** Millions per second, two decimals. */
const rate = (value: number): string => (value / 1e6).toFixed(2);

async function parent(): Promise<void> {
  console.log(describeSetup('Tidings in-memory fan-out benchmark'));
  console.log(
    `Paced publishing: batches of ${BATCH.toLocaleString('en')} events, then wait for every consumer. ` +
      `${ROUNDS} interleaved rounds, each a fresh child process per library reporting the median of ` +
      `${REPEATS} timed runs of ~${RUN_SECONDS}s (1 for the slowest); median (min–max) over the rounds.\n`,
  );
  const load = watchLoad();

  const byLibrary = await interleaved(
    ROUNDS,
    LIBRARIES,
    (library) => inChild<ThroughputRow[]>(SELF, ['--child', 'throughput', library.name], BIG_HEAP),
    (library, round, rows) =>
      process.stderr.write(
        `  round ${round + 1} ${library.name.padEnd(58)} ${rows.map((r) => formatRate(r.rate).padStart(10)).join(' ')}\n`,
      ),
  );
  /** Per subscriber count, the rate of each round. */
  const ratesOf = (library: Library, subscribers: number): number[] =>
    (byLibrary.get(library) ?? []).map((rows) => rows.find((r) => r.subscribers === subscribers)?.rate ?? Number.NaN);
  const tidings = LIBRARIES.find((l) => l.kind === 'tidings') as Library;
  /** Tidings' rate over the library's in each round: a ratio taken within one round. */
  const ratioRuns = (library: Library, subscribers: number): number[] => {
    const own = ratesOf(library, subscribers);
    return ratesOf(tidings, subscribers).map((t, round) => t / (own[round] as number));
  };

  console.log(
    '\nDelivered events/s, millions (subscribers x events / time), `for await` consumers unless noted; ' +
      `median (min–max) of ${ROUNDS} rounds:\n`,
  );
  console.log(
    table(
      ['library', ...SUBSCRIBER_COUNTS.map((n) => `${n} subscriber${n === 1 ? '' : 's'}`), 'Tidings ÷ this (10 / 100)'],
      LIBRARIES.map((library) => [
        library.name,
        ...SUBSCRIBER_COUNTS.map((n) => spreadOf(ratesOf(library, n), rate)),
        library === tidings ? '' : [10, 100].map((n) => spreadOf(ratioRuns(library, n), times)).join(' / '),
      ]),
    ),
  );

  // The target names the async-iterator peers emittery, graphql-subscriptions and
  // @graphql-yoga/subscription; node:events' on() is not among them but is reported alongside.
  const verdicts = new Verdicts();
  for (const subscribers of [10, 100]) {
    const peers = LIBRARIES.filter((l) => l.kind === 'async-iterator' && l.name !== EVENTS_ON);
    const fastest = peers.reduce((a, b) => (median(ratesOf(b, subscribers)) > median(ratesOf(a, subscribers)) ? b : a));
    const ratio = summarize(ratioRuns(fastest, subscribers));
    verdicts.check(
      `${subscribers} subscribers: Tidings ≥ 3x the fastest async-iterator peer (median of per-round ratios)`,
      `${spreadOf(ratioRuns(fastest, subscribers), times)} ${fastest.name}`,
      ratio.median >= 3,
    );
  }

  console.log(
    `\nStalled subscriber: ${STALLED_PUBLISHES.toLocaleString('en')} publishes, one subscriber never reads; ` +
      'heap growth after forced gc (one fresh child per library; a count of bytes, not a timing):\n',
  );
  const stalledRows: StalledRow[] = [];
  for (const library of LIBRARIES) {
    if (library.kind === 'callback') continue; // a callback cannot stall: it runs inside publish
    stalledRows.push(await inChild<StalledRow>(SELF, ['--child', 'stalled', library.name], BIG_HEAP));
  }
  console.log(
    table(
      ['library', 'heap growth', 'note'],
      stalledRows.map((r) => [r.library, `${(r.growthBytes / MB).toFixed(1)} MB`, r.note]),
      [false, true, false],
    ),
  );
  const tidingsGrowth = stalledRows.find((r) => r.library === tidings.name)?.growthBytes ?? Number.POSITIVE_INFINITY;
  verdicts.check('Tidings heap growth < 5 MB', `${(tidingsGrowth / MB).toFixed(1)} MB`, tidingsGrowth < 5 * MB);
  console.log(`\n${describeLoad(load.stop())}`);
  verdicts.print();
}

async function child(mode: string, name: string): Promise<void> {
  const library = LIBRARIES.find((l) => l.name === name);
  if (!library) throw new Error(`unknown library ${name}`);
  // reply() exits: the stalled peers leave listeners and pending promises behind on purpose.
  await reply(() => (mode === 'stalled' ? stalled(library) : throughput(library)));
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1] as string, process.argv[childAt + 2] as string);
else await parent();
