import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from '../../../test/support/redis-child.js';
import {
  adminClient,
  collect,
  eventually,
  pubsubClientIds,
  strictlyIncreasing,
  waitForNoTidingsConnections,
  waitForReceivers,
  waitForSeq,
  warningsLogger,
} from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range, waitFor } from '../../conformance/harness.js';
import { PublishError } from '../../errors.js';
import {
  createRedisEventService,
  type RedisEventService,
  type RedisEventServiceOptions,
} from './redis-event-service.js';

const childScript = fileURLToPath(new URL('../../../test/support/redis-child.ts', import.meta.url));

/** Every service a test opened; closed after the suite, so a failed test leaves nothing reconnecting. */
const opened: RedisEventService<SeqEvent>[] = [];

function service(
  server: RedisServer,
  channel: string,
  options: Partial<RedisEventServiceOptions<SeqEvent>> = {},
): RedisEventService<SeqEvent> {
  const created = createRedisEventService({
    redisAddress: server.url,
    redisChannel: channel,
    codec: seqCodec,
    ...options,
  });
  opened.push(created);
  return created;
}

/**
 * A publisher and a subscribing service on one channel, with a background
 * collector; resolves once a probe went from one to the other, so both
 * connections are up before the test's first publish.
 */
async function pair(server: RedisServer, options: Partial<RedisEventServiceOptions<SeqEvent>> = {}) {
  const channel = freshTopic();
  const publisher = service(server, channel, options);
  const subscriber = service(server, channel, options);
  const sub = await subscriber.subscribe({ bufferSize: 300_000 });
  const collected = collect(sub);
  await waitForReceivers(publisher);
  return { channel, publisher, subscriber, sub, collected };
}

/** After a fault: the subscriber is back, post-recovery events arrive in order, the gap was reported. */
async function assertRecovered(p: Awaited<ReturnType<typeof pair>>, firstAfter: number): Promise<void> {
  await waitForReceivers(p.publisher);
  for (const seq of range(firstAfter, firstAfter + 100)) p.publisher.publish({ seq });
  await waitForSeq(p.collected, firstAfter + 99);
  assert.deepEqual(p.collected.seqs.slice(-100), range(firstAfter, firstAfter + 100), 'post-recovery events in order');
  assert.ok(strictlyIncreasing(p.collected.seqs), 'never reordered or duplicated');
  assert.ok(
    p.collected.gaps.some((gap) => gap.reason === 'reconnect'),
    `a reconnect gap was reported (gaps: ${JSON.stringify(p.collected.gaps)})`,
  );
  assert.ok(p.subscriber.stats.reconnects >= 1);
}

async function closeAll(p: Awaited<ReturnType<typeof pair>>, server: RedisServer): Promise<void> {
  await Promise.all([p.publisher.close(), p.subscriber.close()]);
  await p.collected.done;
  assert.equal(p.subscriber.liveSubscriptions, 0);
  const admin = adminClient(server.url);
  try {
    await waitForNoTidingsConnections(admin);
  } finally {
    admin.disconnect();
  }
}

describe('redis backend under faults', () => {
  const servers: RedisServer[] = [];
  const start = async (args: string[] = []): Promise<RedisServer> => {
    const server = await startRedisServer(args);
    servers.push(server);
    return server;
  };
  after(async () => {
    await Promise.all(opened.map((svc) => svc.close()));
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('survives the server restarting mid-stream and reports the gap', async () => {
    const server = await start();
    const p = await pair(server);
    for (const seq of range(0, 500)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 499);
    await server.stop();
    for (const seq of range(500, 600)) p.publisher.publish({ seq }); // while down: fail or wait, never throw
    await server.restart();
    await assertRecovered(p, 1000);
    assert.deepEqual(p.collected.seqs.slice(0, 500), range(0, 500));
    assert.ok(
      p.collected.gaps.every((gap) => gap.after >= 500),
      `the gap lies after what was received before the fault: ${JSON.stringify(p.collected.gaps)}`,
    );
    await closeAll(p, server);
  });

  it('survives CLIENT KILL TYPE pubsub', async () => {
    const server = await start();
    const p = await pair(server);
    for (const seq of range(0, 100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 99);
    const admin = adminClient(server.url);
    const killed = await admin.client('KILL', 'TYPE', 'pubsub');
    admin.disconnect();
    assert.equal(killed, 1, 'exactly one subscriber connection to kill');
    await assertRecovered(p, 200);
    await closeAll(p, server);
  });

  it('survives Redis disconnecting a slow subscriber at its output-buffer limit', async () => {
    const server = await start(['--client-output-buffer-limit', 'pubsub 256kb 128kb 1']);
    const channel = freshTopic();
    const child = fork(childScript, ['subscribe', server.url, channel], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const seqs: number[] = [];
    const gaps: { reason: string; before: number }[] = [];
    let reconnects = 0;
    child.on('message', (report: ChildReport) => {
      if (report.kind === 'events') {
        seqs.push(...report.seqs.filter((seq) => seq >= 0));
        gaps.push(...report.gaps);
      }
      if (report.kind === 'stats') reconnects = report.reconnects;
    });
    await waitForMessage(child, 'ready');
    const publisher = service(server, channel);
    const admin = adminClient(server.url);
    try {
      // A stopped process is the slowest consumer there is.
      child.kill('SIGSTOP');
      const pad = 'x'.repeat(8 * 1024);
      const burst = admin.pipeline();
      for (const seq of range(0, 2_000)) burst.publish(channel, JSON.stringify({ seq, pad }));
      await burst.exec();
      await waitForNumsub(admin, channel, 0); // Redis dropped the stopped subscriber
      child.kill('SIGCONT');

      await waitForReceivers(publisher);
      for (const seq of range(10_000, 10_100)) publisher.publish({ seq });
      await waitFor('post-recovery events in the child', () => seqs.at(-1) === 10_099, 20_000);
      assert.deepEqual(seqs.slice(-100), range(10_000, 10_100));
      assert.ok(seqs.length < 2_100, 'the burst was really cut');
      assert.ok(strictlyIncreasing(seqs));
      assert.ok(
        gaps.some((gap) => gap.reason === 'reconnect'),
        `the child was told of the gap: ${JSON.stringify(gaps)}`,
      );
      child.send('stats');
      await waitFor('child stats', () => reconnects >= 1);
    } finally {
      child.kill('SIGCONT');
      child.send('stop');
      await once(child, 'exit');
      await publisher.close();
      admin.disconnect();
    }
  });

  it('keeps publishing harmless and bounded while the server is down', async () => {
    const server = await start();
    const p = await pair(server, { publishTimeoutMs: 200, maxPendingWhileDown: 100 });
    await server.stop();
    const before = p.publisher.stats.publishFailed;
    for (const seq of range(0, 10_000)) assert.doesNotThrow(() => p.publisher.publish({ seq }));
    await waitFor('every publish accounted as failed', () => p.publisher.stats.publishFailed - before === 10_000);
    await assert.rejects(p.publisher.publishConfirmed({ seq: 0 }), PublishError);
    await server.restart();
    await assertRecovered(p, 20_000);
    await closeAll(p, server);
  });

  it('fails what a hung server leaves unanswered within the timeout, reopens the connection, and recovers', async () => {
    const server = await start();
    const timeoutMs = 1_000; // the default; shorter would let a slow CI host's hiccup fail the recovery below
    const p = await pair(server, { publishTimeoutMs: timeoutMs });
    server.pause();
    try {
      const hungSince = performance.now();
      const confirmed = p.publisher.publishConfirmed({ seq: 0 });
      for (const seq of range(1, 1_000)) p.publisher.publish({ seq });
      await assert.rejects(confirmed, new RegExp(`did not answer the publish within ${timeoutMs} ms`));
      await waitFor(
        () => `the unanswered publishes counted as failed: ${JSON.stringify(p.publisher.stats)}`,
        () => p.publisher.stats.publishFailed === 1_000,
      );
      // Timers may fire a fraction of a millisecond early against performance.now().
      assert.ok(performance.now() - hungSince >= timeoutMs - 1, 'nothing failed before the timeout');
      // Still hung: what is published now waits for the reopened connection, bounded, and fails.
      for (const seq of range(1_000, 2_000)) p.publisher.publish({ seq });
      await waitFor(
        () => `publishes during the hang counted as failed: ${JSON.stringify(p.publisher.stats)}`,
        () => p.publisher.stats.publishFailed === 2_000,
      );
      assert.equal(p.publisher.stats.published, 1, 'only the probe from before the hang was answered');
    } finally {
      server.resume();
    }
    await waitForReceivers(p.publisher);
    for (const seq of range(10_000, 10_100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 10_099);
    // Redis may still run what reached it before the hang, once thawed: never twice, never out of order.
    assert.ok(strictlyIncreasing(p.collected.seqs), 'never reordered or duplicated');
    assert.deepEqual(p.collected.seqs.slice(-100), range(10_000, 10_100));
    await closeAll(p, server);
  });

  it('notices a subscriber connection that went silent, reopens it and reports the gap', async () => {
    const server = await start();
    const { logger, warnings } = warningsLogger();
    const p = await pair(server, { heartbeatMs: 100, logger });
    for (const seq of range(0, 100)) p.publisher.publish({ seq });
    await waitForSeq(p.collected, 99);
    const admin = adminClient(server.url);
    try {
      const [before] = await pubsubClientIds(admin);
      server.pause();
      try {
        await waitFor(
          () => `the silent connection noticed: ${JSON.stringify(warnings)}`,
          () => warnings.some((w) => w.includes('answered nothing, not even PING')),
        );
      } finally {
        server.resume();
      }
      // Thawed, Redis may still count the dropped connection as a receiver until it reads its close.
      await eventually(
        () => pubsubClientIds(admin),
        (ids) => ids.length === 1 && ids[0] !== before,
        (ids) => `pubsub connections ${ids.join(', ')}; the one before the pause was ${before}`,
      );
    } finally {
      admin.disconnect();
    }
    await assertRecovered(p, 1_000);
    assert.deepEqual(p.collected.seqs.slice(0, 100), range(0, 100));
    await closeAll(p, server);
  });

  it('reports, never hides, what a 200,000-event burst in one tick costs', async (t) => {
    const server = await start();
    const p = await pair(server);
    const total = 200_000;
    const pad = 'x'.repeat(300); // about the size of a monitor event: 70 MB in all, past Redis' 32 MB pubsub limit
    for (let seq = 0; seq < total; seq++) p.publisher.publish({ seq, pad });
    await waitFor(
      () =>
        `burst delivered or the cut reported: received ${p.collected.seqs.length}, ` +
        `publisher ${JSON.stringify(p.publisher.stats)}, subscriber reconnects ${p.subscriber.stats.reconnects}`,
      () =>
        p.collected.seqs.length >= total ||
        (p.subscriber.stats.reconnects >= 1 && p.publisher.stats.published + p.publisher.stats.publishFailed >= total),
      60_000,
    );
    const received = p.collected.seqs.filter((seq) => seq < total).length;
    t.diagnostic(
      `received ${received} of ${total}; publish failures ${p.publisher.stats.publishFailed}; reconnects ${p.subscriber.stats.reconnects}`,
    );
    await assertRecoveredOrComplete(p, received === total);
    await closeAll(p, server);
  });

  it('holds 1,000 subscriptions on one subscriber connection and unsubscribes after the last', async () => {
    const server = await start();
    const channel = freshTopic();
    const svc = service(server, channel);
    const admin = adminClient(server.url);
    try {
      const subs = await Promise.all(range(0, 1_000).map(() => svc.subscribe()));
      assert.equal(svc.liveSubscriptions, 1_000);
      const names = await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub');
      assert.equal(String(names).trim().split('\n').length, 1, 'one pubsub connection');
      assert.deepEqual(await admin.pubsub('NUMSUB', channel), [channel, 1]);
      svc.publish({ seq: 1 });
      for (const sub of subs) assert.equal((await sub.next()).value?.seq, 1);
      await Promise.all(subs.map((sub) => sub.close()));
      await waitForNumsub(admin, channel, 0);
      const again = await svc.subscribe();
      assert.deepEqual(
        await admin.pubsub('NUMSUB', channel),
        [channel, 1],
        'SUBSCRIBE again for a new first subscriber',
      );
      await again.close();
    } finally {
      await svc.close();
      admin.disconnect();
    }
  });

  it('delivers 10,000 events from a publisher in another process, complete and in order', async () => {
    const server = await start();
    const channel = freshTopic();
    const svc = service(server, channel);
    const sub = await svc.subscribe({ bufferSize: 20_000 });
    const collected = collect(sub);
    const child = fork(childScript, ['publish', server.url, channel, '10000'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    await waitForSeq(collected, 9_999);
    assert.deepEqual(collected.seqs, range(0, 10_000));
    assert.equal(sub.dropped, 0);
    await svc.close();
  });

  it('skips garbage on the channel, counts it by reason, and delivers the next valid message', async () => {
    const server = await start();
    const channel = freshTopic();
    const svc = service(server, channel);
    const sub = await svc.subscribe();
    const admin = adminClient(server.url);
    try {
      await admin.publish(channel, 'not json {');
      await admin.publish(channel, '{"seq":"one"}');
      await admin.publish(channel, '');
      await admin.publish(channel, '{"seq":42}');
      assert.equal((await sub.next()).value?.seq, 42);
      assert.deepEqual(svc.stats.invalid, { 'not-json': 2, 'no-envelope': 0, 'unknown-type': 0, 'invalid-payload': 1 });
      assert.equal(svc.stats.received, 1, 'only valid messages count as received');
    } finally {
      await svc.close();
      admin.disconnect();
    }
  });
});

async function assertRecoveredOrComplete(p: Awaited<ReturnType<typeof pair>>, complete: boolean): Promise<void> {
  if (!complete) {
    await assertRecovered(p, 1_000_000);
    return;
  }
  // Nothing was lost: then nothing may have been reported as lost either.
  assert.deepEqual(p.collected.gaps, []);
  for (const seq of range(1_000_000, 1_000_010)) p.publisher.publish({ seq });
  await waitForSeq(p.collected, 1_000_009);
}

function waitForMessage(child: ChildProcess, kind: ChildReport['kind']): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (report: ChildReport): void => {
      if (report.kind !== kind) return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before ${kind}`)));
  });
}

function waitForNumsub(admin: ReturnType<typeof adminClient>, channel: string, count: number): Promise<void> {
  return eventually(
    async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1],
    (n) => n === count,
    (n) => `NUMSUB ${channel} stayed at ${n}`,
  );
}
