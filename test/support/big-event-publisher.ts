// Publishes large ingest events through Redis from a process of its own, so
// the publisher's encoding never competes with a test's clients for an event loop:
//   big-event-publisher.ts <redis url> <channel> <first seq> <count> <bytes> <events per second>
// Each event's `item.name` is `<seq>|` followed by `bytes` of padding. Events
// go out at a steady rate (what fell due meanwhile goes out at once), every
// tenth one confirmed by Redis, so a slow Redis holds the producer back. Exits when done.
import { newIngestEventServiceRedis } from '../../src/monitor/redis-services.js';
import type { MonitorEvent } from '../../src/monitor/schemas.js';
import { publishSteadily } from './steady-producer.js';

const CONFIRM_EVERY = 10;
const [redisUrl, channel, firstArg, countArg, bytesArg, rateArg] = process.argv.slice(2);
if (!redisUrl || !channel || !firstArg || !countArg || !bytesArg || !rateArg) {
  throw new TypeError('usage: big-event-publisher.ts <redis url> <channel> <first seq> <count> <bytes> <events/s>');
}
const rate = Number(rateArg);
const first = Number(firstArg);
const count = Number(countArg);
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
await publishSteadily(
  rate,
  (n) =>
    n % CONFIRM_EVERY === CONFIRM_EVERY - 1
      ? publisher.publishConfirmed(event(first + n))
      : publisher.publish(event(first + n)),
  { count },
);
await publisher.close();
