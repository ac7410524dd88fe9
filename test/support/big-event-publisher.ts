// Publishes large ingest events through Redis from a process of its own, so
// the publisher's encoding never competes with a test's clients for an event loop:
//   big-event-publisher.ts <redis url> <channel> <first seq> <count> <bytes> <events per second>
// Each event's `item.name` is `<seq>|` followed by `bytes` of padding. Events
// go out at a steady rate (what is due is published on each tick, so a late
// tick catches up), each tick's last one confirmed by Redis. Exits when done.
import { newIngestEventServiceRedis } from '../../src/monitor/redis-services.js';
import type { MonitorEvent } from '../../src/monitor/schemas.js';

const TICK_MS = 10;
const [redisUrl, channel, firstArg, countArg, bytesArg, rateArg] = process.argv.slice(2);
if (!redisUrl || !channel || !firstArg || !countArg || !bytesArg || !rateArg) {
  throw new TypeError('usage: big-event-publisher.ts <redis url> <channel> <first seq> <count> <bytes> <events/s>');
}
const rate = Number(rateArg);
const first = Number(firstArg);
const end = first + Number(countArg);
const padding = 'x'.repeat(Number(bytesArg));
const event = (seq: number): MonitorEvent => ({
  type: 'sip_updated_event',
  value: {
    uuid: '00000001-4f5e-4c1b-9a51-1c2f7f3a9b10',
    item: {
      uuid: '00000001-4f5e-4c1b-9a51-1c2f7f3a9b10',
      name: `${seq}|${padding}`,
      status: 'processing',
      created_at: '2024-05-13T09:21:44.118233Z',
    },
  },
});

// A loaded test machine can hold Redis up for a while; that is not what the tests measure.
const publisher = newIngestEventServiceRedis(undefined, undefined, {
  redisAddress: redisUrl,
  redisChannel: channel,
  publishTimeoutMs: 30_000,
});
const started = performance.now();
let seq = first;
while (seq < end) {
  const due = Math.min(end, first + Math.floor(((performance.now() - started) / 1000) * rate));
  for (; seq < due - 1; seq++) publisher.publish(event(seq));
  if (seq < due) await publisher.publishConfirmed(event(seq++));
  else await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
await publisher.close();
