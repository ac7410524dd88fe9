// The bridge copying into JetStream, in this process, on a redis-server and a
// nats-server this file starts: copies read back through the JetStream event
// service, gap records as one `reconnect` gap at their place for live and
// replaying subscriptions, the sequence fence, and garbage counted by consumers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { eventually } from '../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../test/support/seq-codec.js';
import {
  createNatsStreamEventService,
  type NatsStreamEventService,
} from '../backends/nats-stream/nats-stream-event-service.js';
import { freshTopic, waitFor } from '../conformance/harness.js';
import type { Subscription } from '../core/contract.js';
import { OLDEST } from '../core/position.js';
import { type Bridge, type BridgeOptions, createBridge } from './bridge.js';
import { JetStreamSink } from './jetstream-sink.js';

/** What a subscription yields, gaps in their place: `{seq}` events as numbers, gaps as `gap:<reason>`. */
type Seen = (number | string)[];

describe('bridge into JetStream (real redis-server and nats-server)', { timeout: 60_000 }, () => {
  let redisServer: RedisServer;
  let natsServer: NatsServer;
  let redis: Redis;
  let nc: NatsConnection;
  const bridges: Bridge[] = [];
  const services: NatsStreamEventService<SeqEvent>[] = [];
  before(async () => {
    [redisServer, natsServer] = await Promise.all([startRedisServer(), startNatsServer()]);
    redis = new Redis(redisServer.url);
    nc = await connect({ servers: natsServer.url });
  });
  after(async () => {
    await Promise.allSettled(bridges.map((bridge) => bridge.close()));
    await Promise.allSettled(services.map((service) => service.close()));
    await nc?.close().catch(() => {});
    redis?.disconnect();
    await Promise.allSettled([redisServer?.stop(), natsServer?.close()]);
  });

  const subjectOf = (channel: string) => `bridge.${channel.replace(/[^\w-]/g, '_')}`;
  const bridge = async (channel: string, options: Partial<BridgeOptions> = {}): Promise<Bridge> => {
    const created = createBridge({
      redisAddress: redisServer.url,
      channel,
      leaseTtlMs: 300,
      jetStream: { natsAddress: natsServer.url, subject: subjectOf(channel) },
      ...options,
    });
    bridges.push(created);
    await created.start();
    return created;
  };
  const service = (channel: string): NatsStreamEventService<SeqEvent> => {
    const created = createNatsStreamEventService({
      natsAddress: natsServer.url,
      subject: subjectOf(channel),
      codec: seqCodec,
    });
    services.push(created);
    return created;
  };
  const active = (b: Bridge) =>
    waitFor(
      () => `${b.id} active and subscribed: ${JSON.stringify(b.status())}`,
      () => b.status().role === 'active' && b.status().subscribed,
    );
  /**
   * Reads `count` events once all are buffered, with gaps in their place: a
   * gap shows once every event before it was read, so it is taken after each event.
   */
  const read = async (sub: Subscription<SeqEvent>, count: number): Promise<Seen> => {
    await waitFor(
      () => `${count} events buffered, got ${sub.pending}`,
      () => sub.pending >= count,
    );
    const seen: Seen = [];
    for (let i = 0; i < count; i++) {
      const next = await sub.next();
      if (next.done) break;
      seen.push(next.value.seq);
      const gap = sub.takeGap();
      if (gap !== undefined) seen.push(`gap:${gap.reason}`);
    }
    return seen;
  };
  const stream = async (channel: string) => {
    const jsm = await jetstreamManager(nc);
    return jsm.streams.info(subjectOf(channel).replaceAll('.', '_'));
  };

  it('copies every payload byte for byte, in order; the event service reads them back; garbage is skipped and counted', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A' });
    await active(a);
    const events = service(channel);
    const sub = await events.subscribe({ from: OLDEST });
    const payloads = ['{"seq":1}', 'not json at all', '{"seq":2,"pad":"ünïcödé ✓"}', '{"no":"seq"}', '{"seq":3}'];
    for (const payload of payloads) await redis.publish(channel, payload);
    const seen = await read(sub, 3);
    assert.deepEqual(seen, [1, 2, 3]);
    // Byte for byte: the stored bodies are the published payloads.
    const jsm = await jetstreamManager(nc);
    const name = subjectOf(channel).replaceAll('.', '_');
    for (const [i, payload] of payloads.entries()) {
      const stored = await jsm.streams.getMessage(name, { seq: i + 1 });
      assert.equal(Buffer.from(stored?.data ?? []).toString('utf8'), payload);
    }
    assert.equal(a.status().copied, payloads.length);
    assert.equal(a.status().gaps, 0, 'no gap record on a new, empty stream');
    assert.equal(events.stats.invalid['not-json'], 1);
    assert.equal(events.stats.invalid['invalid-payload'], 1);
    await sub.close();
  });

  it('a takeover writes one gap record: a live and a replaying subscription each get one reconnect gap at its place', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A' });
    await active(a);
    const events = service(channel);
    const live = await events.subscribe();
    for (const seq of [1, 2]) await redis.publish(channel, JSON.stringify({ seq }));
    await waitFor(
      () => `2 copied: ${JSON.stringify(a.status())}`,
      () => a.status().copied === 2,
    );
    const b = await bridge(channel, { id: 'B' });
    await a.close(); // releases the lease: B takes over and marks the window
    await active(b);
    await waitFor(
      () => `B wrote the gap: ${JSON.stringify(b.status())}`,
      () => b.status().gaps === 1,
    );
    for (const seq of [3, 4]) await redis.publish(channel, JSON.stringify({ seq }));
    const replaying = await events.subscribe({ from: OLDEST });
    const expected = [1, 2, 'gap:reconnect', 3, 4];
    assert.deepEqual(await read(live, 4), expected);
    assert.deepEqual(await read(replaying, 4), expected);
    const info = await stream(channel);
    assert.equal(info.state.messages, 5, 'four events and one gap record');
    assert.deepEqual(
      Object.values(events.stats.invalid).filter((n) => n > 0),
      [],
      'a gap record is not counted as an invalid event',
    );
    assert.equal(b.status().ready, true, JSON.stringify(b.status()));
    await Promise.all([live.close(), replaying.close()]);
  });

  it('a bridge that lost the lease is fenced: its next write goes nowhere and it stands down', async () => {
    const channel = freshTopic();
    const a = await bridge(channel, { id: 'A', leaseTtlMs: 60_000 });
    await active(a);
    await redis.publish(channel, JSON.stringify({ seq: 1 }));
    await waitFor(
      () => `1 copied: ${JSON.stringify(a.status())}`,
      () => a.status().copied === 1,
    );
    // Another bridge holds the lease now (A was, say, frozen past its expiry).
    await redis.set(`${subjectOf(channel).replaceAll('.', '_')}:bridge-lease`, 'B elsewhere');
    await redis.publish(channel, JSON.stringify({ seq: 2 }));
    await waitFor(
      () => `A stood down: ${JSON.stringify(a.status())}`,
      () => a.status().role === 'standby',
    );
    assert.equal(a.status().copied, 1);
    assert.equal((await stream(channel)).state.messages, 1, 'nothing stale appended');
  });

  /** A sink whose lease check always passes: the frozen bridge checked its lease before it froze. */
  const sinkOn = (url: string, subject: string, id: string, publishTimeoutMs = 5_000) =>
    new JetStreamSink({
      servers: [url],
      subject,
      stream: subject.replaceAll('.', '_'),
      limits: { maxEvents: 100_000, maxAgeMs: 86_400_000, replicas: 1, duplicateWindowMs: 120_000 },
      bridgeId: id,
      stillHolds: async () => true,
      publishTimeoutMs,
    });
  const event = (seq: number) => Buffer.from(JSON.stringify({ seq }));

  it('the sequence fence: a sink whose last-seen sequence is stale is refused even though its lease check passes', async () => {
    const subject = subjectOf(freshTopic());
    const name = subject.replaceAll('.', '_');
    const sink = (id: string) => sinkOn(natsServer.url, subject, id);
    const a = sink('A');
    const b = sink('B');
    try {
      await Promise.all([a.open(), b.open()]);
      a.takeover();
      assert.equal(await a.writeEvents([Buffer.from('{"seq":1}')]), 'written');
      b.takeover();
      const since = (await b.lastEntryTime()) as Date;
      assert.ok(since instanceof Date);
      assert.equal(await b.writeGap({ bridge: 'B', since, until: new Date() }), 'written');
      assert.equal(await a.writeEvents([Buffer.from('{"seq":2}'), Buffer.from('{"seq":3}')]), 'fenced');
      assert.equal(await b.writeEvents([Buffer.from('{"seq":2}')]), 'written');
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(name);
      assert.equal(info.state.messages, 3, 'A appended nothing after B wrote');
      const gap = await jsm.streams.getMessage(name, { seq: 2 });
      assert.equal(gap?.data.length, 0);
      assert.match(gap?.header?.get('Tidings-Gap') ?? '', /^\{"bridge":"B","since":/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a publish that got no answer is settled from the stream before the next: its own lands, another writer fences', async () => {
    const own = await startNatsServer(); // paused below: its own server, so no other test waits on it
    const subject = 'bridge.unanswered';
    const a = sinkOn(own.url, subject, 'A', 500);
    const b = sinkOn(own.url, subject, 'B');
    const jsNc = await connect({ servers: own.url });
    try {
      await Promise.all([a.open(), b.open()]);
      const jsm = await jetstreamManager(jsNc);
      const lastSeq = async () => (await jsm.streams.info('bridge_unanswered')).state.last_seq;
      const unanswered = async (seq: number) => {
        own.pause();
        // SIGSTOP lands asynchronously: the publish below must meet a frozen server.
        await waitFor(
          () => `nats-server ${own.pid} stopped`,
          () => readFileSync(`/proc/${own.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true,
        );
        try {
          await assert.rejects(a.writeEvents([event(seq)]));
        } finally {
          own.resume();
        }
        // The publish was in the socket when the server froze: it lands once the server runs again.
        await eventually(
          lastSeq,
          (last) => last === seq,
          (last) => `event ${seq} landed after the resume; the stream ends at ${last}`,
        );
      };
      a.takeover();
      assert.equal(await a.writeEvents([event(1)]), 'written');
      await unanswered(2);
      assert.equal(await a.writeEvents([event(3)]), 'written', 'its own unanswered message is recognised');
      await unanswered(4);
      b.takeover();
      assert.equal(await b.writeGap({ bridge: 'B', since: new Date(), until: new Date() }), 'written');
      assert.equal(await a.writeEvents([event(6)]), 'fenced', 'another writer appended after the unanswered one');
      assert.equal(await lastSeq(), 5, 'nothing from A after B');
    } finally {
      await Promise.allSettled([a.close(), b.close(), jsNc.close()]);
      await own.close();
    }
  });
});
