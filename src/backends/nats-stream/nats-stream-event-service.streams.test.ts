import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '../../../test/support/nats-server.js';
import { freePort } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { testTelemetry } from '../../../test/support/telemetry.js';
import { freshTopic, range, take, waitFor } from '../../conformance/harness.js';
import { ConfigError, PositionError, PublishError } from '../../errors.js';
import { keepTraceContexts, traceContextOf } from '../../observability/event-trace.js';
import { traceHeaders } from '../../observability/nats-trace-headers.js';
import {
  createNatsStreamEventService,
  type NatsStreamEventService,
  type NatsStreamEventServiceOptions,
} from './nats-stream-event-service.js';
import { streamNameFor } from './stream-setup.js';

const nats = await startNatsServer({ jetstream: true });
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc?.close();
  await nats.close();
});

function service(options: Partial<NatsStreamEventServiceOptions<SeqEvent>> = {}): NatsStreamEventService<SeqEvent> {
  return createNatsStreamEventService({ natsAddress: nats.url, subject: freshTopic(), codec: seqCodec, ...options });
}

async function consumers(stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.consumer_count;
}

describe('JetStream backend: what the stream keeps and leaves behind', () => {
  it('derives a valid stream name from a dotted subject, and refuses wildcard subjects', async () => {
    assert.equal(streamNameFor('enduro.ingest.events'), 'enduro_ingest_events');
    assert.throws(() => service({ subject: 'enduro.*' }), ConfigError);
    assert.throws(() => service({ subject: 'a.>' }), ConfigError);
    assert.throws(() => service({ subject: 'a b' }), ConfigError);
    assert.throws(() => service({ subject: 'a..b' }), ConfigError);
    assert.throws(() => service({ stream: 'has.dot' }), ConfigError);
    const events = service({ subject: `t.${Date.now()}.events`, maxEvents: 1_234, maxAgeMs: 60_000 });
    try {
      await events.publishConfirmed({ seq: 1 });
      const { config, state } = await jsm.streams.info(events.stream);
      assert.equal(events.stream, streamNameFor(events.subject));
      assert.deepEqual(config.subjects, [events.subject]);
      assert.equal(config.max_msgs, 1_234);
      assert.equal(state.messages, 1);
      assert.deepEqual(events.replay, { maxEvents: 1_234, maxAgeMs: 60_000, approximate: false });
    } finally {
      await events.close();
    }
  });

  it('an existing stream with other limits is a ConfigError naming them, and is left as it was', async () => {
    const subject = freshTopic();
    const first = service({ subject, maxEvents: 1_000 });
    await first.publishConfirmed({ seq: 1 });
    await first.close();
    const second = service({ subject, maxEvents: 2_000 });
    try {
      await assert.rejects(second.subscribe(), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /max_msgs 1000, not 2000/);
        return true;
      });
      await assert.rejects(second.publishConfirmed({ seq: 2 }), PublishError);
      assert.equal((await jsm.streams.info(streamNameFor(subject))).config.max_msgs, 1_000);
    } finally {
      await second.close();
    }
  });

  it('the same message ID published twice is stored once (what a retried publish carries)', async () => {
    const events = service({ duplicateWindowMs: 60_000 });
    try {
      const sub = await events.subscribe();
      const js = jetstream(nc);
      const text = seqCodec.encode({ seq: 7 });
      const firstAck = await js.publish(events.subject, text, { msgID: 'retried-once' });
      const secondAck = await js.publish(events.subject, text, { msgID: 'retried-once' });
      assert.equal(firstAck.duplicate, false);
      assert.equal(secondAck.duplicate, true);
      assert.equal(secondAck.seq, firstAck.seq);
      await events.publishConfirmed({ seq: 8 });
      assert.deepEqual(
        (await take(sub, 2)).map((e) => e.seq),
        [7, 8],
      );
      assert.equal((await jsm.streams.info(events.stream)).state.messages, 2);
      assert.equal(sub.pending, 0);
    } finally {
      await events.close();
    }
  });

  it('leaves no consumer on the server: replay consumers go when caught up or closed, the shared one when idle', async () => {
    const events = service({ idleConsumerMs: 100 });
    const stream = events.stream;
    const positions: string[] = [];
    const live = await events.subscribe({ bufferSize: 1_000 });
    for (const i of range(0, 500)) events.publish({ seq: i });
    for (const _ of range(0, 500)) {
      await live.next();
      positions.push(live.position as string);
    }
    assert.equal(await consumers(stream), 1, 'one shared live consumer');

    const closedEarly = await events.subscribe({ from: 'oldest', bufferSize: 8 });
    await take(closedEarly, 3);
    assert.equal(closedEarly.replaying, true);
    await waitForConsumers(stream, 2);
    await closedEarly.close();
    await waitForConsumers(stream, 1);

    const caughtUp = await events.subscribe({ from: positions[100] as string, bufferSize: 1_000 });
    assert.deepEqual(
      (await take(caughtUp, 399)).map((e) => e.seq),
      range(101, 500),
    );
    await waitFor('the replay to catch up', () => !caughtUp.replaying);
    await waitForConsumers(stream, 1);
    events.publish({ seq: 500 });
    assert.deepEqual(
      (await take(caughtUp, 1)).map((e) => e.seq),
      [500],
      'live after the replay',
    );
    await Promise.all([live.close(), caughtUp.close()]);
    await waitForConsumers(stream, 0);
    assert.equal(events.closed, false, 'gone while the service is open, once no subscription is left');
    const again = await events.subscribe();
    assert.equal(again.position, positions.at(-1)?.replace(/:\d+$/, ':501'), 'starts at the newest event');
    events.publish({ seq: 501 });
    assert.deepEqual(
      (await take(again, 1)).map((e) => e.seq),
      [501],
    );
    await waitForConsumers(stream, 1);
    await events.close();
    await waitForConsumers(stream, 0);
  });

  it('positions are shared by every service on the stream; a position ahead of the stream is refused', async () => {
    const subject = freshTopic();
    const a = service({ subject });
    const b = service({ subject });
    try {
      const sub = await a.subscribe();
      for (const i of range(0, 10)) await a.publishConfirmed({ seq: i });
      await take(sub, 5);
      const position = sub.position as string;
      const resumed = await b.subscribe({ from: position });
      assert.deepEqual(
        (await take(resumed, 5)).map((e) => e.seq),
        range(5, 10),
      );
      const ahead = position.replace(/:\d+$/, ':999');
      await assert.rejects(b.subscribe({ from: ahead }), (error: unknown) => {
        assert.ok(error instanceof PositionError);
        assert.equal(error.problem, 'ahead');
        return true;
      });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a message that is not a valid event is counted and skipped, live and in replay; positions move past it', async () => {
    const events = service();
    try {
      const sub = await events.subscribe();
      const js = jetstream(nc);
      await events.publishConfirmed({ seq: 1 });
      await js.publish(events.subject, 'not json');
      await js.publish(events.subject, '{"no":"seq"}');
      await events.publishConfirmed({ seq: 2 });
      assert.deepEqual(
        (await take(sub, 2)).map((e) => e.seq),
        [1, 2],
      );
      assert.equal(events.stats.invalid['not-json'], 1);
      assert.equal(events.stats.invalid['invalid-payload'], 1);
      const replayed = await events.subscribe({ from: 'oldest' });
      assert.deepEqual(
        (await take(replayed, 2)).map((e) => e.seq),
        [1, 2],
      );
      assert.match(replayed.position as string, /:4$/);
      await waitFor('the replay to catch up', () => !replayed.replaying);
    } finally {
      await events.close();
    }
  });

  it('a trace context carried in headers only reaches the subscriber; a malformed one is dropped and counted', async () => {
    const events = service();
    try {
      keepTraceContexts();
      const sub = await events.subscribe();
      const js = jetstream(nc);
      const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await js.publish(events.subject, seqCodec.encode({ seq: 1 }), { headers: traceHeaders({ traceparent: parent }) });
      await js.publish(events.subject, seqCodec.encode({ seq: 2 }), {
        headers: traceHeaders({ traceparent: 'not-a-traceparent' }),
      });
      const [first, second] = await take(sub, 2);
      assert.deepEqual(traceContextOf(first as SeqEvent), { traceparent: parent });
      assert.equal(traceContextOf(second as SeqEvent), undefined);
      assert.equal(events.stats.traceContextDropped.traceparent, 1);
    } finally {
      await events.close();
    }
  });

  it('a traced publish carries its context in traceparent headers (and, with a codec that writes it, the body)', async () => {
    const telemetry = testTelemetry();
    const events = service({ tracerProvider: telemetry.tracerProvider });
    try {
      await events.publishConfirmed({ seq: 1 });
      const stored = await jsm.streams.getMessage(events.stream, { seq: 1 });
      const [span] = telemetry.spans.getFinishedSpans();
      assert.ok(span, 'the publish span ended');
      const { traceId, spanId } = span.spanContext();
      assert.match(stored?.header?.get('traceparent') ?? '', new RegExp(`^00-${traceId}-${spanId}-0[01]$`));
      assert.equal(stored?.string(), '{"seq":1}', 'this codec writes no trace fields: the body is the event');
    } finally {
      await events.close();
      await telemetry.shutdown();
    }
  });

  it('with no server reachable, publishes fail within the timeout and are counted; subscribe fails with a ConnectionError', async () => {
    const port = await freePort();
    const events = createNatsStreamEventService<SeqEvent>({
      natsAddress: `nats://127.0.0.1:${port}`,
      subject: freshTopic(),
      codec: seqCodec,
      publishTimeoutMs: 300,
      subscribeTimeoutMs: 300,
      maxPendingPublishes: 5,
    });
    try {
      assert.equal(events.status.state, 'connecting');
      await assert.rejects(events.publishConfirmed({ seq: 1 }), PublishError);
      for (const i of range(0, 10)) events.publish({ seq: i });
      await waitFor('every publish to have failed', () => events.stats.publishFailed === 11);
      await assert.rejects(events.subscribe(), { name: 'ConnectionError' });
      assert.equal(events.stats.published, 0);
    } finally {
      await events.close();
    }
  });
});

function waitForConsumers(stream: string, count: number): Promise<void> {
  let last = -1;
  let asking = false;
  return waitFor(
    () => `${count} consumers on ${stream} (last seen ${last})`,
    () => {
      if (!asking) {
        asking = true;
        consumers(stream).then(
          (n) => {
            last = n;
            asking = false;
          },
          () => {
            asking = false;
          },
        );
      }
      return last === count;
    },
  );
}
