// The bridge as a library, in this process, on a redis-server this file starts:
// what it copies, when it writes gap records, how a fenced bridge stands down,
// and what its health endpoints say.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventually } from '../../test/support/redis-kit.js';
import { freePort, type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { freshTopic, waitFor } from '../conformance/harness.js';
import { ConfigError } from '../errors.js';
import { createPrometheusMetrics } from '../gateway/prometheus-metrics.js';
import { type Bridge, type BridgeOptions, createBridge } from './bridge.js';
import { listenBridgeHealth } from './bridge-health.js';

type Fields = [string, string];

describe('bridge (in process, real redis-server)', { timeout: 60_000 }, () => {
  let server: RedisServer;
  let redis: Redis;
  const bridges: Bridge[] = [];
  before(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  after(async () => {
    await Promise.allSettled(bridges.map((bridge) => bridge.close()));
    redis?.disconnect();
    await server?.stop();
  });

  const roles: string[] = [];
  const bridge = async (channel: string, options: Partial<BridgeOptions> = {}): Promise<Bridge> => {
    const created = createBridge({
      redisAddress: server.url,
      channel,
      leaseTtlMs: 300,
      onRoleChange: (role, reason) => roles.push(`${options.id}: ${role} (${reason})`),
      ...options,
    });
    bridges.push(created);
    await created.start();
    return created;
  };
  const entries = async (key: string): Promise<Fields[]> =>
    (await redis.xrange(key, '-', '+')).map(([, fields]) => fields as Fields);
  const waitForEntries = (key: string, done: (fields: Fields[]) => boolean, what: string) =>
    eventually(
      () => entries(key),
      done,
      (last) => `${what}: ${JSON.stringify(last)}; roles ${roles.join(', ')}`,
    );
  const subscribed = (bridge: Bridge) =>
    waitFor(
      () => `${bridge.id} subscribed: ${JSON.stringify(bridge.status())}`,
      () => bridge.status().subscribed,
    );

  it('copies every message byte for byte, in order, into the stream named after the channel; no gap on a new stream', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A' });
    await subscribed(a);
    const texts = ['{"type":"x","n":1}', 'not json at all', '', 'ünïcödé ✓', '{"n":5}'];
    for (const text of texts) await redis.publish(channel, text);
    await waitForEntries(channel, (fields) => fields.length === texts.length, 'all copied');
    assert.deepEqual(
      await entries(channel),
      texts.map((text) => ['m', text]),
    );
    assert.equal(a.status().copied, texts.length);
    assert.equal(a.status().gaps, 0);
    assert.equal(a.status().role, 'active');
  });

  it('writes into --stream when given, and a gap record when it takes over a stream that has entries', async () => {
    const channel = freshTopic();
    const stream = `${channel}-stream`;
    await redis.xadd(stream, '*', 'm', 'from before');
    const [[lastId]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    const a = await bridge(channel, { id: 'A', streamKey: stream });
    await subscribed(a);
    await redis.publish(channel, 'after');
    await waitForEntries(stream, (fields) => fields.length === 3, 'gap and copy');
    const [, gap, copy] = await entries(stream);
    assert.deepEqual(copy, ['m', 'after']);
    assert.equal(gap?.[0], 'gap');
    const record = JSON.parse(gap?.[1] ?? '') as { bridge: string; since: string; until: string };
    assert.equal(record.bridge, 'A');
    assert.equal(Date.parse(record.since), Number(lastId.split('-')[0]), 'since: the last entry in the stream');
    assert.ok(Date.parse(record.until) >= Date.parse(record.since));
    assert.equal(await redis.exists(channel), 0, 'nothing written under the channel name');
  });

  it('one of two bridges copies; closing it releases the lease, the other takes over with one gap record', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A' });
    await subscribed(a);
    const b = await bridge(channel, { id: 'B' });
    assert.equal(b.status().role, 'standby');
    assert.equal(b.status().ready, true, 'a standby polling the lease is ready');
    await redis.publish(channel, 'one');
    await waitForEntries(channel, (fields) => fields.length === 1, 'A copied');
    await a.close();
    assert.equal(await redis.get(`${channel}:bridge-lease`), null, 'the lease was released');
    await subscribed(b);
    await redis.publish(channel, 'two');
    await waitForEntries(channel, (fields) => fields.length === 3, 'B wrote a gap record, then copied');
    const [first, gap, second] = await entries(channel);
    assert.deepEqual([first, gap?.[0], second], [['m', 'one'], 'gap', ['m', 'two']]);
    assert.equal((JSON.parse(gap?.[1] ?? '') as { bridge: string }).bridge, 'B');
    assert.deepEqual([a.status().copied, b.status().copied, b.status().gaps], [1, 1, 1]);
  });

  it('a bridge whose lease was taken writes nothing more, stands by, and takes over again with a gap', async () => {
    const channel = freshTopic();
    const leaseKey = `${channel}:bridge-lease`;
    const a = await bridge(channel, { id: 'A', leaseTtlMs: 600 });
    await subscribed(a);
    await redis.publish(channel, 'kept');
    await waitForEntries(channel, (fields) => fields.length === 1, 'A copied');
    // Another bridge holds the lease now, as if A had been frozen past its expiry: A's next write
    // is fenced, or its next renewal fails, whichever comes first; either way it stands down.
    await redis.set(leaseKey, 'Z elsewhere pid 1', 'PX', 1_500);
    await redis.publish(channel, 'stale');
    await waitFor(
      () => `A stands by: ${JSON.stringify(a.status())}`,
      () => a.status().role === 'standby',
    );
    assert.deepEqual(await entries(channel), [['m', 'kept']], 'nothing written without the lease');
    assert.equal(await redis.get(leaseKey), 'Z elsewhere pid 1', 'the other holder keeps its lease');
    // Z's lease expires unrenewed: A takes over again, and marks the window.
    await waitFor(
      () => `A active again: ${JSON.stringify(a.status())}`,
      () => a.status().role === 'active' && a.status().subscribed,
    );
    await redis.publish(channel, 'fresh');
    await waitForEntries(channel, (fields) => fields.length === 3, 'gap record, then the copy');
    const [kept, gap, fresh] = await entries(channel);
    assert.deepEqual([kept, gap?.[0], fresh], [['m', 'kept'], 'gap', ['m', 'fresh']]);
    assert.equal(a.status().takeovers, 2);
  });

  it('marks a lost subscriber connection with a gap record once it is subscribed again', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A' });
    await subscribed(a);
    await redis.publish(channel, 'before');
    await waitForEntries(channel, (fields) => fields.length === 1, 'A copied');
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor('the bridge saw the loss', () => !a.status().subscribed);
    await subscribed(a);
    await redis.publish(channel, 'after');
    await waitForEntries(channel, (fields) => fields.length === 3, 'gap record, then the copy');
    const [, gap, copy] = await entries(channel);
    assert.equal(gap?.[0], 'gap');
    assert.deepEqual(copy, ['m', 'after']);
    assert.equal(a.status().role, 'active', 'still the lease holder');
  });

  it('serves /healthz, /readyz (200, then 503 with reasons once closed) and /metrics', async () => {
    const channel = freshTopic();
    const metrics = createPrometheusMetrics();
    const a = await bridge(channel, { id: 'A', meterProvider: metrics.meterProvider });
    const health = await listenBridgeHealth(a, { port: 0, host: '127.0.0.1', metrics });
    try {
      await subscribed(a);
      await redis.publish(channel, 'x');
      await waitForEntries(channel, (fields) => fields.length === 1, 'copied');
      assert.equal((await fetch(`${health.url}/healthz`)).status, 200);
      const ready = await fetch(`${health.url}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as Record<string, unknown>;
      assert.equal(body.role, 'active');
      assert.equal(body.copied, 1);
      assert.ok(!JSON.stringify(body).includes(String(server.port)), 'no address in /readyz');
      const text = await (await fetch(`${health.url}/metrics`)).text();
      for (const name of [
        'tidings_bridge_copied',
        'tidings_bridge_gaps',
        'tidings_bridge_takeovers',
        'tidings_bridge_active',
        'tidings_bridge_lag',
      ]) {
        assert.match(text, new RegExp(`^${name}\\S*\\{[^}]*\\} `, 'm'), `${name} in /metrics`);
      }
      assert.match(text, /^tidings_bridge_copied\S*\{[^}]*\} 1$/m);
      assert.match(text, /^tidings_bridge_active\S*\{[^}]*\} 1$/m);
      assert.equal((await fetch(`${health.url}/nope`)).status, 404);
      await a.close();
      const closed = await fetch(`${health.url}/readyz`);
      assert.equal(closed.status, 503);
      assert.deepEqual(((await closed.json()) as { reasons: string[] }).reasons, ['closed']);
    } finally {
      await health.close();
      await metrics.shutdown();
    }
  });

  it('is not ready while Redis is gone, and closes within its deadlines when Redis is gone or hung', async () => {
    for (const fault of ['stopped', 'paused'] as const) {
      const own = await startRedisServer();
      try {
        const channel = freshTopic();
        const a = createBridge({ redisAddress: own.url, channel, id: 'A', leaseTtlMs: 300 });
        await a.start();
        await subscribed(a);
        if (fault === 'stopped') {
          await own.stop();
          await waitFor(
            () => `not ready while Redis is gone: ${JSON.stringify(a.status())}`,
            () => a.status().reasons.includes('not connected to Redis'),
          );
          assert.equal(a.status().ready, false);
        } else {
          own.pause();
        }
        await a.close(); // the test's own timeout fails it if this hangs
        assert.equal(a.status().role, 'closed', fault);
      } finally {
        if (fault === 'paused') own.resume();
        await own.stop();
      }
    }
  });

  it('rejects bad options at construction, and start() when Redis cannot be reached', async () => {
    assert.throws(() => createBridge({ redisAddress: 'http://x', channel: 'c' }), ConfigError);
    assert.throws(() => createBridge({ redisAddress: server.url, channel: '' }), TypeError);
    assert.throws(() => createBridge({ redisAddress: server.url, channel: 'c', leaseTtlMs: 5 }), TypeError);
    assert.throws(() => createBridge({ redisAddress: server.url, channel: 'c', maxLen: -1 }), TypeError);
    const nowhere = createBridge({ redisAddress: `redis://127.0.0.1:${await freePort()}`, channel: 'c' });
    await assert.rejects(nowhere.start());
    assert.equal(nowhere.status().role, 'closed');
    await nowhere.close();
  });
});
