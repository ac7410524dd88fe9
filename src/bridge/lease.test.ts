// The lease and the fenced stream writes on a real redis-server this file starts:
// one holder at a time, renewal only by the holder, expiry hands it over, and a
// write by anyone but the holder goes nowhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventually } from '../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { freshTopic } from '../conformance/harness.js';
import { defineLeaseCommands, RedisLease } from './lease.js';
import { defineSinkCommands, RedisStreamSink } from './redis-stream-sink.js';

describe('bridge lease and fenced stream sink (real redis-server)', { timeout: 30_000 }, () => {
  let server: RedisServer;
  let redis: Redis;
  before(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
    defineLeaseCommands(redis);
    defineSinkCommands(redis);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const lease = (key: string, holder: string, ttlMs = 10_000): RedisLease =>
    new RedisLease(defineLeaseCommands(redis), key, holder, ttlMs);

  it('lets one candidate hold it at a time, holder value as given', async () => {
    const key = freshTopic();
    const a = lease(key, 'A host pid 1');
    const b = lease(key, 'B host pid 2');
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(await a.acquire(), false, 'acquire is SET NX: not even the holder sets it twice');
    assert.equal(await b.current(), 'A host pid 1');
  });

  it('renews only for its holder, and extends the expiry', async () => {
    const key = freshTopic();
    const a = lease(key, 'A', 5_000);
    const b = lease(key, 'B', 60_000);
    assert.equal(await a.acquire(), true);
    await redis.pexpire(key, 100);
    assert.equal(await a.renew(), true);
    assert.ok((await redis.pttl(key)) > 1_000, 'renew set the expiry back to the ttl');
    assert.equal(await b.renew(), false);
    assert.ok((await redis.pttl(key)) <= 5_000, "a non-holder's renew does not touch the expiry");
    assert.equal(await b.current(), 'A');
  });

  it('expires when not renewed, and then another candidate takes it; the old holder cannot renew', async () => {
    const key = freshTopic();
    const a = lease(key, 'A', 50);
    const b = lease(key, 'B', 10_000);
    assert.equal(await a.acquire(), true);
    await eventually(
      () => b.acquire(),
      (taken) => taken,
      () => 'B never took the expired lease',
    );
    assert.equal(await a.renew(), false);
    assert.equal(await a.current(), 'B');
  });

  it('releases only its own lease', async () => {
    const key = freshTopic();
    const a = lease(key, 'A');
    const b = lease(key, 'B');
    assert.equal(await a.acquire(), true);
    assert.equal(await b.release(), false);
    assert.equal(await a.current(), 'A');
    assert.equal(await a.release(), true);
    assert.equal(await a.current(), undefined);
    assert.equal(await b.acquire(), true);
  });

  it('rejects a ttl that is not a positive integer', () => {
    assert.throws(() => lease(freshTopic(), 'A', 0), TypeError);
    assert.throws(() => lease(freshTopic(), 'A', 1.5), TypeError);
  });

  const sinkFor = (streamKey: string, leaseKey: string, holder: string, maxLen = 0, maxAgeMs = 0) =>
    new RedisStreamSink(defineSinkCommands(redis), { streamKey, leaseKey, holder, maxLen, maxAgeMs });

  it('writes events as field m, byte for byte, in order, while the lease is held', async () => {
    const stream = freshTopic();
    const leaseKey = `${stream}:bridge-lease`;
    assert.equal(await lease(leaseKey, 'A').acquire(), true);
    const sink = sinkFor(stream, leaseKey, 'A');
    const binary = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0a]);
    assert.equal(await sink.writeEvents([Buffer.from('{"a":1}'), binary, Buffer.from('')]), 'written');
    const entries = await redis.xrangeBuffer(stream, '-', '+');
    assert.deepEqual(
      entries.map(([, fields]) => fields.map((f) => f.toString('hex'))),
      [
        [Buffer.from('m').toString('hex'), Buffer.from('{"a":1}').toString('hex')],
        [Buffer.from('m').toString('hex'), binary.toString('hex')],
        [Buffer.from('m').toString('hex'), ''],
      ],
    );
  });

  it('refuses a whole batch and a gap record (fenced) once another bridge holds the lease, or nobody does', async () => {
    const stream = freshTopic();
    const leaseKey = `${stream}:bridge-lease`;
    const sink = sinkFor(stream, leaseKey, 'A');
    assert.equal(await sink.writeEvents([Buffer.from('x')]), 'fenced', 'no lease at all');
    assert.equal(await lease(leaseKey, 'B').acquire(), true);
    assert.equal(await sink.writeEvents([Buffer.from('x'), Buffer.from('y')]), 'fenced');
    const gap = { bridge: 'A', since: new Date(0), until: new Date(1) };
    assert.equal(await sink.writeGap(gap), 'fenced');
    assert.equal(await redis.exists(stream), 0, 'nothing was written');
  });

  it('writes a gap record as field gap with the shared JSON, and reads back the last entry time', async () => {
    const stream = freshTopic();
    const leaseKey = `${stream}:bridge-lease`;
    assert.equal(await lease(leaseKey, 'A').acquire(), true);
    const sink = sinkFor(stream, leaseKey, 'A');
    assert.equal(await sink.lastEntryTime(), undefined);
    const since = new Date('2026-12-01T01:00:00.123Z');
    const until = new Date('2026-12-01T01:00:04.5Z');
    assert.equal(await sink.writeGap({ bridge: 'A', since, until }), 'written');
    const [[id, fields]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    assert.deepEqual(fields, [
      'gap',
      '{"bridge":"A","since":"2026-12-01T01:00:00.123Z","until":"2026-12-01T01:00:04.500Z"}',
    ]);
    assert.equal((await sink.lastEntryTime())?.getTime(), Number(id.split('-')[0]));
  });

  it('trims by length (MAXLEN ~) and by age (MINID ~)', async () => {
    const byLen = freshTopic();
    assert.equal(await lease(`${byLen}:l`, 'A').acquire(), true);
    const lenSink = sinkFor(byLen, `${byLen}:l`, 'A', 10);
    for (let i = 0; i < 10; i++) {
      assert.equal(
        await lenSink.writeEvents(Array.from({ length: 100 }, (_, j) => Buffer.from(`${i}-${j}`))),
        'written',
      );
    }
    const length = await redis.xlen(byLen);
    assert.ok(length < 1_000 && length >= 10, `MAXLEN ~ 10 kept ${length} of 1000`);

    const byAge = freshTopic();
    assert.equal(await lease(`${byAge}:l`, 'A').acquire(), true);
    // Entries from 1970 (explicit ids), in more than one radix node so ~ can drop whole nodes.
    for (let i = 1; i <= 300; i++) await redis.xadd(byAge, `${i}-0`, 'm', 'old');
    const ageSink = sinkFor(byAge, `${byAge}:l`, 'A', 0, 60_000);
    assert.equal(await ageSink.writeEvents([Buffer.from('new')]), 'written');
    const left = await redis.xrange(byAge, '-', '+');
    assert.ok(left.length < 301, `MINID ~ dropped old entries (kept ${left.length})`);
    assert.deepEqual(left.at(-1)?.[1], ['m', 'new']);
  });
});
