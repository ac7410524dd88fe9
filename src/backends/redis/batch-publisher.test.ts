import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { commandCalls } from '../../../test/support/redis-fixture.js';
import {
  adminClient,
  collect,
  eventually,
  strictlyIncreasing,
  waitForSeq,
  warningsLogger,
} from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range, waitFor } from '../../conformance/harness.js';
import type { Logger } from '../../core/logger.js';
import { BatchPublisher, MAX_BATCH } from './batch-publisher.js';
import { parseRedisAddress } from './redis-address.js';
import { type BatchingConnection, openPublisher } from './redis-connection.js';
import { createRedisEventService, type RedisEventService } from './redis-event-service.js';

/** Script calls Redis has run so far (EVAL and EVALSHA), from INFO commandstats. */
async function scriptCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

describe('batched publishing', () => {
  let server: RedisServer;
  let admin: Redis;
  const open: RedisEventService<SeqEvent>[] = [];
  const service = (channel: string, redisAddress = server.url, logger?: Logger): RedisEventService<SeqEvent> => {
    const created = createRedisEventService({ redisAddress, redisChannel: channel, codec: seqCodec, logger });
    open.push(created);
    return created;
  };
  before(async () => {
    server = await startRedisServer();
    admin = adminClient(server.url);
    await admin.acl('SETUSER', 'noscripts', 'on', '>secret', '~*', '&*', '+@all', '-@scripting');
    await admin.acl('SETUSER', 'otherchannels', 'on', '>secret', '~*', 'resetchannels', '&other', '+@all');
  });
  /** The server as `user` (password `secret`). */
  const urlAs = (user: string): string => {
    const url = new URL(server.url);
    url.username = user;
    url.password = 'secret';
    return url.toString();
  };
  /** The server as a user that may not run scripts. */
  const refusingUrl = (): string => urlAs('noscripts');
  /** A publisher and a collecting subscriber on a fresh channel, once a probe went from one to the other. */
  const connected = async (options: { bufferSize?: number; logger?: Logger } = {}) => {
    const channel = freshTopic();
    const publisher = service(channel, server.url, options.logger);
    const sub = await service(channel).subscribe(options.bufferSize ? { bufferSize: options.bufferSize } : undefined);
    const collected = collect(sub);
    await publisher.publishConfirmed({ seq: -1 }); // connected, script loaded
    return { publisher, collected };
  };
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    admin.disconnect();
    await server.stop();
  });

  it(`sends one tick's publishes as one script call per ${MAX_BATCH} events, in order`, async () => {
    const { publisher, collected } = await connected({ bufferSize: 10_000 });
    const before = await scriptCalls(admin);
    const total = 2 * MAX_BATCH + 100;
    for (const seq of range(0, total - 1)) publisher.publish({ seq });
    const receivers = await publisher.publishConfirmed({ seq: total - 1 });
    assert.equal(receivers, 1, 'the confirmed publish reports its own receivers');
    await waitForSeq(collected, total - 1);
    assert.deepEqual(collected.seqs, range(0, total));
    assert.equal((await scriptCalls(admin)) - before, 3, `${total} publishes in one tick: 3 commands`);
    assert.equal(publisher.stats.published, total + 1);
  });

  it('publishes what was queued before close', async () => {
    const { publisher, collected } = await connected();
    for (const seq of range(0, 10)) publisher.publish({ seq });
    await publisher.close();
    await waitForSeq(collected, 9);
    assert.deepEqual(collected.seqs, range(0, 10));
  });

  it('recovers when Redis forgets the script (SCRIPT FLUSH)', async () => {
    const { publisher, collected } = await connected();
    publisher.publish({ seq: 0 });
    await publisher.publishConfirmed({ seq: -1 });
    await admin.script('FLUSH');
    for (const seq of range(1, 5)) publisher.publish({ seq });
    await waitForSeq(collected, 4);
    assert.deepEqual(collected.seqs, range(0, 5));
    assert.equal(publisher.stats.publishFailed, 0);
  });

  it('fails a batch Redis is too busy to run, and keeps using the script afterwards', async () => {
    const { logger, warnings } = warningsLogger();
    const { publisher, collected } = await connected({ logger });
    const blocker = adminClient(server.url);
    await admin.config('SET', 'lua-time-limit', '10');
    try {
      // Another client's endless script: after 10 ms Redis answers BUSY to everything but SCRIPT KILL.
      const blocked = blocker.eval('while true do end', 0).then(String, (error: Error) => error.message);
      await eventually(
        () => admin.ping().catch((error: Error) => error.message),
        (answer) => answer.startsWith('BUSY'),
        (answer) => `Redis never got busy: ${answer}`,
      );
      await assert.rejects(publisher.publishConfirmed({ seq: 0 }), /did not accept the publish/);
      await admin.script('KILL');
      assert.match(await blocked, /killed/i);
      const scriptsBefore = await scriptCalls(admin);
      assert.equal(await publisher.publishConfirmed({ seq: 1 }), 1);
      await waitForSeq(collected, 1);
      assert.deepEqual(collected.seqs, [1], 'the refused batch was not published');
      assert.equal((await scriptCalls(admin)) - scriptsBefore, 1, 'still one script call per batch');
      assert.equal(publisher.stats.publishFailed, 1);
      assert.ok(!warnings.some((w) => w.includes('refused the batch publish script')));
    } finally {
      await admin.config('SET', 'lua-time-limit', '5000');
      blocker.disconnect();
    }
  });

  it('fails publishes to a channel the ACL denies, without blaming scripts', async () => {
    const channel = freshTopic();
    const { logger, warnings } = warningsLogger();
    const publisher = service(channel, urlAs('otherchannels'), logger);
    await assert.rejects(publisher.publishConfirmed({ seq: 0 }), /did not accept the publish/);
    assert.equal(publisher.stats.publishFailed, 1);
    assert.ok(!warnings.some((w) => w.includes('refused the batch publish script')), warnings.join('; '));
  });

  it('keeps order when batches are made while refused script batches are still unanswered', async () => {
    const channel = freshTopic();
    const real = openPublisher(parseRedisAddress(refusingUrl()));
    // Redis answers for real; the test decides when each script answer is seen.
    const answers: Array<() => void> = [];
    const gated: BatchingConnection = {
      pipeline: () => real.pipeline(),
      tidingsPublish: (...args) =>
        new Promise((resolve, reject) => {
          real.tidingsPublish(...args).then(
            (value) => answers.push(() => resolve(value)),
            (error: unknown) => answers.push(() => reject(error)),
          );
        }),
    };
    const sub = await service(channel).subscribe({ bufferSize: 10_000 });
    const collected = collect(sub);
    let answered = 0;
    let refusals = 0;
    const batches = new BatchPublisher<{ text: string }>(
      gated,
      channel,
      (batch, outcome) => {
        assert.ok(!(outcome instanceof Error), String(outcome));
        answered += batch.length;
      },
      { onScriptsRefused: () => refusals++ },
    );
    const send = (from: number, to: number): void => {
      for (const seq of range(from, to)) batches.add({ text: seqCodec.encode({ seq }) });
      batches.flush();
    };
    try {
      if (real.status !== 'ready') await new Promise((resolve) => real.once('ready', resolve));
      send(0, 10);
      send(10, 20);
      await waitFor('both refusals back', () => answers.length === 2);
      answers.shift()?.(); // the first refusal: from now on PUBLISH, the first batch resent
      await waitFor('switched to PUBLISH', () => refusals === 1);
      send(20, 30); // made while the second refused batch is unanswered: must wait for its resend
      answers.shift()?.();
      await waitFor('30 events', () => collected.seqs.length === 30);
      assert.deepEqual(collected.seqs, range(0, 30));
      await waitFor('every batch answered', () => answered === 30); // the publisher's replies may trail delivery
      assert.equal(refusals, 1);
    } finally {
      real.disconnect();
    }
  });

  it('falls back to PUBLISH where scripts are refused, keeping every event and their order', async () => {
    const channel = freshTopic();
    const { logger, warnings } = warningsLogger();
    const publisher = service(channel, refusingUrl(), logger);
    const sub = await service(channel).subscribe({ bufferSize: 10_000 });
    const collected = collect(sub);
    const total = 3 * MAX_BATCH;
    // Several script batches in flight when the first refusal comes back, then more batches after it.
    for (const seq of range(0, total)) publisher.publish({ seq });
    const receivers = await publisher.publishConfirmed({ seq: total });
    for (const seq of range(total + 1, total + 50)) publisher.publish({ seq });
    await waitForSeq(collected, total + 49);
    assert.deepEqual(collected.seqs, range(0, total + 50));
    assert.ok(strictlyIncreasing(collected.seqs));
    assert.equal(receivers, 1);
    assert.equal(publisher.stats.publishFailed, 0);
    assert.deepEqual(
      warnings.filter((w) => w.includes('refused the batch publish script')).length,
      1,
      'the switch is logged once',
    );
  });

  it('never times out a long burst that Redis answers slowly but steadily', async (t) => {
    const channel = freshTopic();
    const timeoutMs = 500;
    const publisher = createRedisEventService({
      redisAddress: server.url,
      redisChannel: channel,
      codec: seqCodec,
      publishTimeoutMs: timeoutMs,
    });
    open.push(publisher);
    const sub = await service(channel).subscribe({ bufferSize: 100_000 });
    const collected = collect(sub);
    await publisher.publishConfirmed({ seq: -1 }); // connected, script loaded
    // Another process keeps Redis busy in slices of 20 ms, one script after another: between two slices Redis
    // answers a batch or two, so the burst's answers keep coming, yet answering all of it takes many timeouts.
    // A process of its own, so that it keeps going while this one is busy publishing.
    const sliceMs = 20;
    const scriptsBefore = await commandCalls(admin, 'eval');
    const blocker = spawn(
      'redis-cli',
      ['-p', String(server.port), '-r', '-1', 'EVAL', BUSY_FOR_US, '0', String(sliceMs * 1_000)],
      { stdio: 'ignore' },
    );
    let blockerFailed: Error | undefined; // redis-cli missing: fail saying so, not with an unhandled 'error' event
    blocker.once('error', (error) => {
      blockerFailed = error;
    });
    try {
      await eventually(
        () => commandCalls(admin, 'eval'),
        (calls) => calls > scriptsBefore,
        () => `the blocker never ran a slice${blockerFailed ? `: ${blockerFailed.message}` : ''}`,
      );
      const slicesBefore = await commandCalls(admin, 'eval');
      const total = 300 * MAX_BATCH;
      for (const seq of range(0, total)) publisher.publish({ seq });
      const last = await publisher.publishConfirmed({ seq: total });
      const slices = (await commandCalls(admin, 'eval')) - slicesBefore;
      t.diagnostic(`${slices} slices of ${sliceMs} ms ran while the burst was answered`);
      assert.ok(slices * sliceMs > 2 * timeoutMs, `Redis was busy elsewhere for ${slices * sliceMs} ms of the burst`);
      assert.equal(last, 1);
      assert.equal(publisher.stats.publishFailed, 0, 'no publish of the burst timed out');
      assert.equal(publisher.stats.published, total + 2);
      await waitForSeq(collected, total);
      assert.deepEqual(collected.seqs, range(0, total + 1));
    } finally {
      if (blocker.exitCode === null && blocker.signalCode === null && blocker.pid !== undefined) {
        const exited = once(blocker, 'exit');
        blocker.kill();
        await exited;
      }
    }
  });
});

/** A script that keeps Redis busy for ARGV[1] microseconds. */
const BUSY_FOR_US = `local start = redis.call('TIME')
local from = start[1] * 1000000 + start[2]
local now = start
repeat now = redis.call('TIME') until now[1] * 1000000 + now[2] - from >= tonumber(ARGV[1])
return 1`;
