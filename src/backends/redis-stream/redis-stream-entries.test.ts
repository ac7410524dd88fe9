import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import {
  adminClient,
  collect,
  tidingsConnections,
  waitForNoTidingsConnections,
  waitForSeq,
} from '../../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range, take } from '../../conformance/harness.js';
import { PositionError } from '../../errors.js';
import {
  createRedisStreamEventService,
  type RedisStreamEventService,
  type RedisStreamEventServiceOptions,
} from './redis-stream-event-service.js';

const GAP_RECORD = JSON.stringify({
  bridge: 'bridge-a',
  since: '2026-12-01T00:00:00Z',
  until: '2026-12-01T00:00:05Z',
});

describe('redis stream backend: entries, positions, connections', () => {
  let server: RedisServer;
  let admin: Redis;
  const opened: RedisStreamEventService<SeqEvent>[] = [];
  const service = (
    key: string,
    options: Partial<RedisStreamEventServiceOptions<SeqEvent>> = {},
  ): RedisStreamEventService<SeqEvent> => {
    const created = createRedisStreamEventService({
      redisAddress: server.url,
      streamKey: key,
      codec: seqCodec,
      ...options,
    });
    opened.push(created);
    return created;
  };
  before(async () => {
    server = await startRedisServer();
    admin = adminClient(server.url);
  });
  after(async () => {
    await Promise.all(opened.map((svc) => svc.close()));
    admin.disconnect();
    await server.stop();
  });

  it('appends one field `m` holding exactly the wire text the pub/sub backend would PUBLISH', async () => {
    const key = freshTopic();
    const svc = service(key);
    assert.equal(await svc.publishConfirmed({ seq: 7, pad: 'x' }), 1, 'one entry added');
    const entries = await admin.xrange(key, '-', '+');
    assert.deepEqual(
      entries.map(([, fields]) => fields),
      [['m', seqCodec.encode({ seq: 7, pad: 'x' })]],
    );
  });

  it("a bridge's gap record is a reconnect gap at its place, for live and replaying subscriptions alike, once", async () => {
    const key = freshTopic();
    const svc = service(key);
    const live = await svc.subscribe();
    const collected = collect(live);
    for (const seq of range(0, 3)) await admin.xadd(key, '*', 'm', JSON.stringify({ seq }));
    await admin.xadd(key, '*', 'gap', GAP_RECORD);
    for (const seq of range(3, 6)) await admin.xadd(key, '*', 'm', JSON.stringify({ seq }));
    await waitForSeq(collected, 5);
    assert.deepEqual(collected.seqs, range(0, 6));
    assert.deepEqual(collected.gaps, [{ reason: 'reconnect', dropped: 0, after: 3 }]);

    const replaying = await svc.subscribe({ from: 'oldest', bufferSize: 2 });
    const seen: (number | string)[] = [];
    for (const _ of range(0, 6)) {
      seen.push(((await replaying.next()).value as SeqEvent).seq);
      // Visible once everything before it was read: right after event 2.
      const gap = replaying.takeGap();
      if (gap) seen.push(gap.reason);
    }
    assert.deepEqual(seen, [0, 1, 2, 'reconnect', 3, 4, 5]);
    assert.equal(replaying.takeGap(), undefined);
  });

  it('skips, counts and logs entries that are not events, and delivers the next valid one', async () => {
    const key = freshTopic();
    const warnings: string[] = [];
    const ignore = (): void => {};
    const svc = service(key, {
      logger: { debug: ignore, info: ignore, error: ignore, warn: (_fields, message) => warnings.push(message) },
    });
    const sub = await svc.subscribe();
    await admin.xadd(key, '*', 'x', 'y');
    await admin.xadd(key, '*', 'm', 'not json {');
    await admin.xadd(key, '*', 'm', '{"seq":"one"}');
    await admin.xadd(key, '*', 'other', '1', 'm', '{"seq":42}');
    assert.equal((await sub.next()).value?.seq, 42);
    assert.deepEqual(svc.stats.invalid, { 'not-json': 1, 'no-envelope': 1, 'unknown-type': 0, 'invalid-payload': 1 });
    assert.ok(warnings.filter((w) => w.includes('not a valid event')).length >= 3, JSON.stringify(warnings));
    assert.equal(svc.stats.received, 1);
  });

  it('positions are the same in every service on the stream: one resumes where another left off', async () => {
    const key = freshTopic();
    const a = service(key);
    const b = service(key);
    const subA = await a.subscribe();
    const subB = await b.subscribe();
    for (const seq of range(0, 5)) a.publish({ seq });
    const positionsA: (string | undefined)[] = [];
    const positionsB: (string | undefined)[] = [];
    for (const _ of range(0, 5)) {
      await subA.next();
      positionsA.push(subA.position);
      await subB.next();
      positionsB.push(subB.position);
    }
    assert.deepEqual(positionsA, positionsB);
    assert.match(positionsA[0] as string, /^rs\.[A-Za-z0-9_-]{10}:\d+-\d+$/);
    const resumed = await b.subscribe({ from: positionsA[1] as string });
    assert.deepEqual(
      (await take(resumed, 3)).map((event) => event.seq),
      [2, 3, 4],
    );
  });

  it('a position ahead of the stream is a PositionError `ahead`; nothing is left open', async () => {
    const key = freshTopic();
    const svc = service(key);
    const sub = await svc.subscribe();
    await svc.publishConfirmed({ seq: 0 });
    const [id] = (await admin.xrange(key, '-', '+'))[0] as [string, string[]];
    const [ms] = id.split('-');
    const ahead = (sub.position as string).replace(/:.*$/, `:${Number(ms) + 60_000}-0`);
    await assert.rejects(svc.subscribe({ from: ahead }), (error: unknown) => {
      assert.ok(error instanceof PositionError);
      assert.equal(error.problem, 'ahead');
      return true;
    });
    const tooBig = (sub.position as string).replace(/:.*$/, ':99999999999999999999-0');
    await assert.rejects(svc.subscribe({ from: tooBig }), PositionError);
    assert.equal(svc.liveSubscriptions, 1);
  });

  it('a reader that fell behind the retention bound hears an expired gap, then reads what Redis kept', async () => {
    const key = freshTopic();
    const svc = service(key, { retention: { maxLen: 10, exact: true } });
    const sub = await svc.subscribe();
    const collected = collect(sub);
    for (const seq of range(0, 5)) await svc.publishConfirmed({ seq });
    await waitForSeq(collected, 4);
    // One script: 50 entries and a trim before the blocked reader is served, as if it had lagged.
    await admin.eval(
      `for i = 5, 54 do redis.call('XADD', KEYS[1], '*', 'm', '{"seq":' .. i .. '}') end
       redis.call('XTRIM', KEYS[1], 'MAXLEN', 10)`,
      1,
      key,
    );
    await waitForSeq(collected, 54);
    assert.deepEqual(collected.seqs, [...range(0, 5), ...range(45, 55)]);
    assert.deepEqual(
      collected.gaps.map(({ reason, after }) => ({ reason, after })),
      [{ reason: 'expired', after: 5 }],
    );
  });

  it('keeps the stream within its bound plus one batch, and declares the bound', async () => {
    const key = freshTopic();
    const svc = service(key, { retention: { maxLen: 1_000 } });
    assert.deepEqual(svc.replay, { maxEvents: 1_000, maxAgeMs: undefined, approximate: true });
    for (const seq of range(0, 5_000)) svc.publish({ seq });
    await svc.publishConfirmed({ seq: 5_000 });
    const length = await admin.xlen(key);
    assert.ok(length >= 1_000 && length <= 1_000 + 512 + 100, `length ${length}`);
  });

  it('trims by age too, and rejects bad retention options with a TypeError', async () => {
    const key = freshTopic();
    const svc = service(key, { retention: { maxAgeMs: 1, exact: true } });
    await admin.xadd(key, '1-1', 'm', JSON.stringify({ seq: 0 })); // from 1970: older than any bound
    await svc.publishConfirmed({ seq: 1 });
    const entries = await admin.xrange(key, '-', '+');
    assert.deepEqual(
      entries.map(([, fields]) => fields[1]),
      [JSON.stringify({ seq: 1 })],
    );
    for (const retention of [{ maxLen: 0 }, { maxLen: 1.5 }, { maxAgeMs: -1 }, { maxLen: Number.NaN }]) {
      assert.throws(
        () => createRedisStreamEventService({ redisAddress: server.url, streamKey: key, codec: seqCodec, retention }),
        TypeError,
      );
    }
  });

  it('serves 1,000 subscriptions from one blocking reader connection, and one command connection', async () => {
    await Promise.all(opened.map((other) => other.close()));
    await waitForNoTidingsConnections(admin);
    const key = freshTopic();
    const svc = service(key);
    const subs = await Promise.all(range(0, 1_000).map(() => svc.subscribe()));
    await svc.publishConfirmed({ seq: 1 });
    for (const sub of subs) assert.equal((await sub.next()).value?.seq, 1);
    assert.deepEqual((await tidingsConnections(admin)).sort(), ['tidings-stream-commands', 'tidings-stream-reader']);
    await Promise.all(subs.map((sub) => sub.close()));
    assert.equal(svc.liveSubscriptions, 0);
  });
});
