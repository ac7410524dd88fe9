import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  adminClient,
  collect,
  eventually,
  strictlyIncreasing,
  waitForNoTidingsConnections,
  waitForSeq,
  warningsLogger,
} from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range, waitFor } from '../../conformance/harness.js';
import type { Subscription } from '../../core/contract.js';
import { PublishError } from '../../errors.js';
import {
  createRedisStreamEventService,
  type RedisStreamEventService,
  type RedisStreamEventServiceOptions,
} from './redis-stream-event-service.js';

/** Every service a test opened; closed after the suite, so a failed test leaves nothing reconnecting. */
const opened: RedisStreamEventService<SeqEvent>[] = [];

function service(
  server: RedisServer,
  key: string,
  options: Partial<RedisStreamEventServiceOptions<SeqEvent>> = {},
): RedisStreamEventService<SeqEvent> {
  const created = createRedisStreamEventService({
    redisAddress: server.url,
    streamKey: key,
    codec: seqCodec,
    ...options,
  });
  opened.push(created);
  return created;
}

/** A publisher and a subscribing service on one stream, with a background collector. */
async function pair(server: RedisServer, options: Partial<RedisStreamEventServiceOptions<SeqEvent>> = {}) {
  const key = freshTopic();
  const publisher = service(server, key, options);
  const subscriber = service(server, key, options);
  const sub = await subscriber.subscribe({ bufferSize: 100_000 });
  const collected = collect(sub);
  await publisherBack(publisher); // connected before the test's first publish
  return { key, publisher, subscriber, sub, collected };
}

/** Appends probes (seq -1, not collected) until Redis confirms one: the publisher is connected. */
function publisherBack(publisher: RedisStreamEventService<SeqEvent>): Promise<void> {
  return eventually(
    () => publisher.publishConfirmed({ seq: -1 }).catch(() => 0),
    (added) => added === 1,
    () => 'the publisher never got an append confirmed',
    20_000,
  );
}

async function closeAll(p: Awaited<ReturnType<typeof pair>>, server: RedisServer): Promise<void> {
  await Promise.all([p.publisher.close(), p.subscriber.close()]);
  await p.collected.done;
  const admin = adminClient(server.url);
  try {
    await waitForNoTidingsConnections(admin);
  } finally {
    admin.disconnect();
  }
}

/** The id of the one connection Redis holds under `name`. */
async function connectionId(admin: ReturnType<typeof adminClient>, name: string): Promise<string> {
  const list = String(await admin.client('LIST'));
  const ids = [...list.matchAll(new RegExp(`(?:^|\\n)id=(\\d+) .*name=${name} `, 'g'))].map((m) => m[1] as string);
  assert.equal(ids.length, 1, `exactly one ${name} connection`);
  return ids[0] as string;
}

/** Reads `sub` up to the event `last`, probes left out. */
async function seqsUntil(sub: Subscription<SeqEvent>, last: number): Promise<number[]> {
  const seqs: number[] = [];
  while (seqs.at(-1) !== last) {
    const result = await sub.next();
    assert.equal(result.done, false);
    if ((result.value as SeqEvent).seq >= 0) seqs.push((result.value as SeqEvent).seq);
  }
  return seqs;
}

describe('redis stream backend under faults', () => {
  const servers: RedisServer[] = [];
  const dirs: string[] = [];
  const start = async (args: string[] = []): Promise<RedisServer> => {
    const server = await startRedisServer(args);
    servers.push(server);
    return server;
  };
  after(async () => {
    await Promise.all(opened.map((svc) => svc.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('restarted with persistence: continues from its position, nothing lost or repeated, no gap; publishes while down fail, bounded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tidings-aof-'));
    dirs.push(dir);
    const server = await start(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
    const p = await pair(server, { publishTimeoutMs: 200, maxPendingWhileDown: 100 });
    for (const seq of range(0, 500)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 499);
    const midway = await p.subscriber.subscribe({ from: 'oldest', bufferSize: 1_000 });
    assert.deepEqual(await seqsUntil(midway, 250), range(0, 251));
    const resumeAt = midway.position as string;
    await midway.close();

    await server.stop();
    await waitFor('the subscriber sees Redis down', () => p.subscriber.status.state === 'down');
    const failedBefore = p.publisher.stats.publishFailed;
    for (const seq of range(500, 10_500)) assert.doesNotThrow(() => p.publisher.publish({ seq }));
    await waitFor('every publish while down failed', () => p.publisher.stats.publishFailed - failedBefore === 10_000);
    await assert.rejects(p.publisher.publishConfirmed({ seq: 0 }), PublishError);

    await server.restart();
    await publisherBack(p.publisher);
    for (const seq of range(20_000, 20_100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 20_099);
    assert.deepEqual(p.collected.seqs, [...range(0, 500), ...range(20_000, 20_100)], 'exactly what Redis kept');
    assert.deepEqual(p.collected.gaps, [], 'continuity proven: no gap');
    assert.ok(p.subscriber.stats.reconnects >= 1);
    assert.equal(p.subscriber.status.state, 'ready');

    const resumed = await p.subscriber.subscribe({ from: resumeAt, bufferSize: 1_000 });
    const rest = await seqsUntil(resumed, 20_099);
    assert.deepEqual(
      rest,
      [...range(251, 500), ...range(20_000, 20_100)],
      'a position from before the restart resumes',
    );
    assert.equal(resumed.takeGap(), undefined);
    await resumed.close();
    await closeAll(p, server);
  });

  it('restarted without persistence: a reconnect gap where the stream was lost, then the new stream in order', async () => {
    const server = await start();
    const p = await pair(server);
    for (const seq of range(0, 500)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 499);
    await server.stop();
    await server.restart();
    await publisherBack(p.publisher);
    for (const seq of range(1_000, 1_100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 1_099);
    assert.deepEqual(p.collected.seqs, [...range(0, 500), ...range(1_000, 1_100)]);
    assert.deepEqual(
      p.collected.gaps.map(({ reason, after }) => ({ reason, after })),
      [{ reason: 'reconnect', after: 500 }],
      'one reconnect gap, between what Redis lost and the new stream',
    );
    await closeAll(p, server);
  });

  it('CLIENT KILL of the reader: reads on from its last entry, nothing lost or repeated, no gap', async () => {
    const server = await start();
    const p = await pair(server);
    for (const seq of range(0, 100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 99);
    const admin = adminClient(server.url);
    try {
      const reader = await connectionId(admin, 'tidings-stream-reader');
      assert.equal(await admin.client('KILL', 'ID', reader), 1);
      for (const seq of range(100, 300)) p.publisher.publish({ seq }); // while the reader reconnects
      await waitForSeq(p.collected, 299);
      assert.deepEqual(p.collected.seqs, range(0, 300));
      assert.deepEqual(p.collected.gaps, []);
      await waitFor('the reconnect counted', () => p.subscriber.stats.reconnects === 1);
      assert.notEqual(await connectionId(admin, 'tidings-stream-reader'), reader);
    } finally {
      admin.disconnect();
    }
    await closeAll(p, server);
  });

  it('trimmed past the reader while it reconnected: an expired gap, then what Redis kept', async () => {
    const server = await start();
    const p = await pair(server, { retention: { maxLen: 10, exact: true } });
    for (const seq of range(0, 10)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 9);
    const admin = adminClient(server.url);
    try {
      const reader = await connectionId(admin, 'tidings-stream-reader');
      // One transaction: the reader cannot be back before the trim.
      const burst = admin.multi().client('KILL', 'ID', reader);
      for (const seq of range(10, 60)) burst.xadd(p.key, '*', 'm', JSON.stringify({ seq }));
      await burst.xtrim(p.key, 'MAXLEN', 10).exec();
    } finally {
      admin.disconnect();
    }
    await waitForSeq(p.collected, 59);
    assert.deepEqual(p.collected.seqs, [...range(0, 10), ...range(50, 60)]);
    assert.deepEqual(
      p.collected.gaps.map(({ reason, after }) => ({ reason, after })),
      [{ reason: 'expired', after: 10 }],
    );
    await closeAll(p, server);
  });

  it('a hung server: the silent read is noticed, the reader reopens and continues without loss, duplicates or gap', async () => {
    const server = await start();
    const { logger, warnings } = warningsLogger();
    const p = await pair(server, { blockMs: 100, heartbeatMs: 200, logger });
    for (const seq of range(0, 100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 99);
    server.pause();
    try {
      await waitFor(
        () => `the hung read noticed: ${JSON.stringify(warnings)}`,
        () => warnings.some((w) => w.includes('did not answer XREAD BLOCK')),
      );
      for (const seq of range(100, 200)) p.publisher.publish({ seq }); // Redis may run these once thawed, or not
    } finally {
      server.resume();
    }
    await publisherBack(p.publisher);
    for (const seq of range(1_000, 1_100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 1_099);
    assert.deepEqual(p.collected.seqs.slice(0, 100), range(0, 100));
    assert.deepEqual(p.collected.seqs.slice(-100), range(1_000, 1_100));
    assert.ok(strictlyIncreasing(p.collected.seqs), 'never reordered or duplicated');
    assert.deepEqual(p.collected.gaps, [], 'Redis kept everything: no gap');
    await closeAll(p, server);
  });
});
