// A Tidings Redis service in a child process, driven over IPC by a test:
//   publish <url> <channel> <count>   publishes seq 0..count-1 (confirmed, in order), then exits
//   subscribe <url> <channel>         reports every event and gap to the parent until told to stop
import { createRedisEventService } from '../../src/backends/redis/redis-event-service.js';
import { seqCodec } from './seq-codec.js';

/** Messages a subscribing child sends to its parent. */
export type ChildReport =
  | { kind: 'ready' }
  | { kind: 'events'; seqs: number[]; gaps: { reason: string; before: number }[] }
  | { kind: 'stats'; reconnects: number }
  | { kind: 'done' };

const [mode, url, channel, count] = process.argv.slice(2);
if (!mode || !url || !channel) throw new TypeError('usage: redis-child.ts publish|subscribe <url> <channel> [count]');
const send = (report: ChildReport): void => {
  process.send?.(report);
};
const service = createRedisEventService({ redisAddress: url, redisChannel: channel, codec: seqCodec });

if (mode === 'publish') {
  const total = Number(count);
  await service.publishConfirmed({ seq: -1 }); // connected: nothing below waits in the bounded start-up queue
  for (let seq = 0; seq < total; seq++) service.publish({ seq });
  await service.publishConfirmed({ seq: -1 }); // in order after everything above
  await service.close();
  send({ kind: 'done' });
  process.disconnect?.();
} else {
  const sub = await service.subscribe({ bufferSize: 100_000 });
  process.on('message', async (message) => {
    if (message === 'stats') send({ kind: 'stats', reconnects: service.stats.reconnects });
    if (message === 'stop') {
      await service.close();
      send({ kind: 'done' });
      process.disconnect?.();
    }
  });
  send({ kind: 'ready' });
  // Report in batches: one IPC message per event would dominate the test's cost.
  let batch: ChildReport & { kind: 'events' } = { kind: 'events', seqs: [], gaps: [] };
  for await (const event of sub) {
    const gap = sub.takeGap();
    if (gap) batch.gaps.push({ reason: gap.reason, before: event.seq });
    batch.seqs.push(event.seq);
    if (sub.pending === 0) {
      send(batch);
      batch = { kind: 'events', seqs: [], gaps: [] };
    }
  }
}
