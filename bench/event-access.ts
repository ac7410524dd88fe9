/**
 * Per-event cost of attribute filtering in the gateway: what a client's
 * stream pays to ask "may this client see this type?" for each event.
 *
 *   npm run bench:event-access
 *
 * Compares, in interleaved rounds (the harness' rotated order; median and
 * min–max of ROUNDS, each ROUND_MS long), a stream with no attribute list (no
 * question asked), the memoised per-client filter the gateway uses, and
 * checking the attribute rule against Enduro's table on every event (what the
 * memo saves). Then counts, through a proxy on the table, how often 100
 * clients read it over 100,000 events each: once per event type per client,
 * whatever the number of events.
 *
 * Takes `--rounds N` (default 7).
 */
import { checkAttributes } from '../src/auth/attributes.js';
import { type EventAccessTable, eventTypeFilter, MONITOR_EVENT_ACCESS } from '../src/auth/event-access.js';
import { INGEST_EVENT_TYPES, STORAGE_EVENT_TYPES } from '../src/monitor/schemas.js';
import {
  describeLoad,
  describeSetup,
  interleaved,
  median,
  roundsOption,
  spreadOf,
  table,
  times,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(7);
const ROUND_MS = 300;
const TYPES: readonly string[] = [...INGEST_EVENT_TYPES, ...STORAGE_EVENT_TYPES];
// A realistic operator: roles mapped to a handful of attributes, no `*`.
const ATTRIBUTES = ['ingest:sips:list', 'ingest:sips:workflows:list', 'ingest:batches:read', 'storage:aips:read'];

let sink = 0;

function nsPerEvent(decide: (type: string) => boolean): number {
  let events = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 21_000; i++) if (decide(TYPES[i % TYPES.length]!)) sink++;
    events += 21_000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / events;
}

const uncached = (type: string): boolean => {
  const requirement = MONITOR_EVENT_ACCESS[type as keyof typeof MONITOR_EVENT_ACCESS];
  return requirement === 'always' || requirement.some((needed) => checkAttributes(ATTRIBUTES, needed));
};
const candidates: Record<string, (type: string) => boolean> = {
  'no attributes (no question)': eventTypeFilter(undefined),
  'memoised per-client filter': eventTypeFilter(ATTRIBUTES),
  'attribute rule on every event': uncached,
};
const names = Object.keys(candidates);
console.log(describeSetup('Tidings event-access benchmark'));
const load = watchLoad();
const samples = await interleaved(ROUNDS, names, async (name) => nsPerEvent(candidates[name]!));
const MEMO = 'memoised per-client filter';
const RULE = 'attribute rule on every event';
// A ratio per round (both timed in it), so the spread of the ratio is the rounds' own.
const speedups = samples.get(RULE)!.map((ns, round) => ns / samples.get(MEMO)![round]!);
const ns = (value: number): string => `${value.toFixed(1)} ns`;
console.log(
  `\n${TYPES.length} event types, ${ATTRIBUTES.length} attributes; median (min–max) of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms\n`,
);
console.log(
  table(
    ['candidate', 'per event'],
    names.map((name) => [name, spreadOf(samples.get(name)!, ns)]),
  ),
);

let reads = 0;
const counted: EventAccessTable = new Proxy(MONITOR_EVENT_ACCESS, {
  get(target, key, receiver) {
    reads += 1;
    return Reflect.get(target, key, receiver);
  },
});
const CLIENTS = 100;
const EVENTS = 100_000;
for (let client = 0; client < CLIENTS; client++) {
  const allowed = eventTypeFilter(ATTRIBUTES, counted);
  for (let i = 0; i < EVENTS; i++) if (allowed(TYPES[i % TYPES.length]!)) sink++;
}
console.log(`\n${describeLoad(load.stop())}`);

const verdicts = new Verdicts();
const speedup = median(speedups);
verdicts.check(
  'memoised per-client filter faster than the attribute rule on every event (median of per-round ratios)',
  spreadOf(speedups, times),
  speedup > 1,
);
verdicts.check(
  `table read at most once per event type per client (${CLIENTS} clients x ${EVENTS} events over ${TYPES.length} types)`,
  `${reads} reads, ${reads / CLIENTS} per client`,
  reads <= CLIENTS * TYPES.length,
);
verdicts.print();
if (sink === 0) console.log('(no event passed)');
