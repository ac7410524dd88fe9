/**
 * Per-event cost of attribute filtering in the gateway: what a client's
 * stream pays to ask "may this client see this type?" for each event.
 *
 *   npm run bench:event-access
 *
 * Compares, in alternating rounds (median of ROUNDS, each ROUND_MS long), a
 * stream with no attribute list (no question asked), the memoised per-client
 * filter the gateway uses, and checking the attribute rule against Enduro's
 * table on every event (what the memo saves). Then counts, through a proxy
 * on the table, how often 100 clients read it over 100,000 events each:
 * once per event type per client, whatever the number of events.
 */
import { checkAttributes } from '../src/auth/attributes.js';
import { type EventAccessTable, eventTypeFilter, MONITOR_EVENT_ACCESS } from '../src/auth/event-access.js';
import { INGEST_EVENT_TYPES, STORAGE_EVENT_TYPES } from '../src/monitor/schemas.js';

const ROUNDS = 7;
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
const samples = new Map<string, number[]>(Object.keys(candidates).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, decide] of Object.entries(candidates)) samples.get(name)?.push(nsPerEvent(decide));
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  `node ${process.version}, load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [name, values] of samples)
  console.log(`${name.padEnd(32)} ${median(values).toFixed(1).padStart(7)} ns/event (median of ${ROUNDS})`);

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
console.log(
  `${CLIENTS} clients x ${EVENTS} events over ${TYPES.length} types: ${reads} table reads (${reads / CLIENTS} per client)`,
);
if (sink === 0) console.log('(no event passed)');
