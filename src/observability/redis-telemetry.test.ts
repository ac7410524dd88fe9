import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../test/support/redis-server.js';
import { openSse } from '../../test/support/sse-client.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { freshTopic, range, take, waitFor } from '../conformance/harness.js';
import type { Subscription } from '../core/contract.js';
import { createMonitorGateway } from '../gateway/monitor-gateway.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';
import type { MonitorEvent } from '../monitor/schemas.js';
import { traceContextOf } from './event-trace.js';

const redis = await startRedisServer();

const ping = (message: string): MonitorEvent => ({ type: 'ingest_ping_event', value: { message } });

/** A publisher and a subscriber on a fresh channel, each with an SDK of its own, as two services have. */
function twoServices() {
  const producerSide = testTelemetry();
  const consumerSide = testTelemetry();
  const channel = freshTopic();
  const config = { redisAddress: redis.url, redisChannel: channel };
  const publisher = newIngestEventServiceRedis(undefined, producerSide.tracerProvider, config);
  const subscriber = newIngestEventServiceRedis(undefined, consumerSide.tracerProvider, config);
  return {
    producerSide,
    consumerSide,
    channel,
    publisher,
    subscriber,
    close: async () => {
      await Promise.all([publisher.close(), subscriber.close()]);
      await Promise.all([producerSide.shutdown(), consumerSide.shutdown()]);
    },
    /** Publishes one event, waits until both sides traced it (and `seen`), then forgets those spans. */
    warmUp: async (sub: Subscription<MonitorEvent>, seen: () => boolean = () => true) => {
      await publisher.publishConfirmed(ping('connect'));
      await take(sub, 1);
      await waitFor('connect seen everywhere', () => consumerSide.spans.getFinishedSpans().length === 1 && seen());
      producerSide.spans.reset();
      consumerSide.spans.reset();
    },
  };
}

describe('telemetry across a real Redis', () => {
  const admin = new Redis(redis.url);
  after(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('puts the publish in one service and the delivery in another in one trace', async () => {
    const { producerSide, consumerSide, channel, publisher, subscriber, close } = twoServices();
    const raw = new Redis(redis.url);
    const wire: string[] = [];
    raw.on('message', (_c: string, text: string) => wire.push(text));
    await raw.subscribe(channel);
    try {
      const sub = await subscriber.subscribe();
      await publisher.publishConfirmed(ping('traced'));
      assert.equal((await sub.next()).value?.type, 'ingest_ping_event');
      await waitFor('consumer span ended', () => consumerSide.spans.getFinishedSpans().length === 1);

      const [producer] = producerSide.spans.getFinishedSpans();
      const [consumer] = consumerSide.spans.getFinishedSpans();
      assert.ok(producer && consumer);
      assert.equal(producer.name, `publish ${channel}`);
      assert.equal(producer.kind, SpanKind.PRODUCER);
      assert.equal(consumer.name, `receive ${channel}`);
      assert.equal(consumer.kind, SpanKind.CONSUMER);
      assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId, 'one trace');
      assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId, 'consumer is the child');
      assert.deepEqual(
        consumer.links.map((link) => link.context.spanId),
        [producer.spanContext().spanId],
        'and links the producer',
      );
      assert.deepEqual(
        {
          system: producer.attributes['messaging.system'],
          destination: producer.attributes['messaging.destination.name'],
          operation: producer.attributes['messaging.operation.type'],
          type: producer.attributes['tidings.event.type'],
        },
        { system: 'redis', destination: channel, operation: 'send', type: 'ingest_ping_event' },
      );
      assert.equal(consumer.attributes['messaging.operation.type'], 'receive');
      assert.equal(consumer.attributes['tidings.event.type'], 'ingest_ping_event');
      assert.equal(consumer.attributes['tidings.subscribers'], 1);
      assert.equal(typeof producer.attributes['messaging.message.body.size'], 'number');

      await waitFor('raw subscriber saw the message', () => wire.length === 1);
      const message = JSON.parse(wire[0] as string) as Record<string, unknown>;
      assert.equal(
        message.traceparent,
        `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`,
        'W3C traceparent as a top-level field',
      );
      process.stdout.write(
        `# trace ${producer.spanContext().traceId}\n` +
          `#   ${producer.name} [PRODUCER] span ${producer.spanContext().spanId} (root)\n` +
          `#   ${consumer.name} [CONSUMER] span ${consumer.spanContext().spanId} parent ${consumer.parentSpanContext?.spanId}\n`,
      );
    } finally {
      raw.disconnect();
      await close();
    }
  });

  it('carries the trace context of the publish on to the browser through the gateway', async () => {
    const producerSide = testTelemetry();
    const channel = freshTopic();
    const config = { redisAddress: redis.url, redisChannel: channel };
    const publisher = newIngestEventServiceRedis(undefined, producerSide.tracerProvider, config);
    const subscriber = newIngestEventServiceRedis(undefined, undefined, config); // the gateway's side has no SDK
    const tokens = [{ token: 'trace-test-token' }];
    const forwarding = createMonitorGateway({ ingest: subscriber, tokens, pingIntervalMs: 60_000 });
    const withholding = createMonitorGateway({
      ingest: subscriber,
      tokens,
      pingIntervalMs: 60_000,
      forwardTraceContext: false,
    });
    const auth = { authorization: 'Bearer trace-test-token' };
    try {
      const sub = await subscriber.subscribe();
      const browser = await openSse(`${await forwarding.listen()}/ingest/monitor`, auth);
      const untraced = await openSse(`${await withholding.listen()}/ingest/monitor`, auth);
      await waitFor('both browsers subscribed', () => subscriber.liveSubscriptions === 3);
      await publisher.publishConfirmed(ping('to the browser'));
      const event = (await sub.next()).value as MonitorEvent;
      await browser.waitFor((messages) => messages.length === 2);
      await untraced.waitFor((messages) => messages.length === 2);

      await waitFor('producer span ended', () => producerSide.spans.getFinishedSpans().length === 1);
      const producer = producerSide.spans.getFinishedSpans()[0]?.spanContext();
      const traceparent = `00-${producer?.traceId}-${producer?.spanId}-01`;
      assert.deepEqual(traceContextOf(event), { traceparent }, 'the subscriber can read what the message carried');
      const wire = '{"value":{"type":"ingest_ping_event","value":{"message":"to the browser"}}';
      assert.equal(browser.messages[1]?.data, `${wire},"traceparent":"${traceparent}"}`);
      assert.equal(untraced.messages[1]?.data, `${wire}}`, 'forwardTraceContext: false sends the bare event');
      browser.close();
      untraced.close();
    } finally {
      await Promise.all([forwarding.close(), withholding.close()]);
      await Promise.all([publisher.close(), subscriber.close()]);
      await producerSide.shutdown();
    }
  });

  it('sends a burst under one publish span, and links it once from each receive span', async () => {
    const { producerSide, consumerSide, channel, publisher, subscriber, close, warmUp } = twoServices();
    const raw = new Redis(redis.url);
    const wire: string[] = [];
    raw.on('message', (_c: string, text: string) => wire.push(text));
    await raw.subscribe(channel);
    try {
      const sub = await subscriber.subscribe({ bufferSize: 1_000 });
      await warmUp(sub, () => wire.length === 1);
      wire.length = 0;
      for (const i of range(0, 200)) publisher.publish(ping(`burst ${i}`)); // one turn, outside any trace
      await take(sub, 200);
      // The producer span ends when Redis acknowledged the last message, which may come after delivery.
      await waitFor(
        'producer and receive spans ended',
        () =>
          producerSide.spans.getFinishedSpans().length === 1 &&
          consumerSide.spans
            .getFinishedSpans()
            .reduce((n, span) => n + Number(span.attributes['messaging.batch.message_count'] ?? 1), 0) === 200,
      );
      const [producer] = producerSide.spans.getFinishedSpans();
      assert.equal(producer?.attributes['messaging.batch.message_count'], 200);
      assert.equal(producer?.attributes['tidings.event.type'], 'ingest_ping_event');
      const traceparent = `00-${producer?.spanContext().traceId}-${producer?.spanContext().spanId}-01`;
      await waitFor('raw subscriber saw the burst', () => wire.length === 200);
      assert.ok(
        wire.every((text) => (JSON.parse(text) as { traceparent?: string }).traceparent === traceparent),
        'every message carries the publish span',
      );
      const receives = consumerSide.spans.getFinishedSpans();
      assert.ok(receives.length < 200, `fewer receive spans than messages (${receives.length})`);
      for (const receive of receives) {
        assert.deepEqual(
          receive.links.map((link) => link.context.spanId),
          [producer?.spanContext().spanId],
          'each receive span links the publish span once',
        );
        assert.equal(receive.spanContext().traceId, producer?.spanContext().traceId, 'in its trace');
      }
    } finally {
      raw.disconnect();
      await close();
    }
  });

  describe('publishing inside a traced operation', () => {
    const manager = new AsyncLocalStorageContextManager();
    before(() => context.setGlobalContextManager(manager.enable()));
    after(() => context.disable());

    it('gives each publish its own span under the operation, and links each from the receive side', async () => {
      const { producerSide, consumerSide, publisher, subscriber, close, warmUp } = twoServices();
      try {
        const sub = await subscriber.subscribe({ bufferSize: 100 });
        await warmUp(sub);
        const workflow = producerSide.tracerProvider.getTracer('app').startActiveSpan('workflow', (span) => {
          for (const i of range(0, 3)) publisher.publish(ping(`step ${i}`));
          span.end();
          return span.spanContext();
        });
        await take(sub, 3);
        const publishes = () => producerSide.spans.getFinishedSpans().filter((span) => span.name !== 'workflow');
        const links = () => consumerSide.spans.getFinishedSpans().flatMap((span) => span.links);
        await waitFor('spans ended', () => publishes().length === 3 && links().length === 3);
        for (const span of publishes()) {
          assert.equal(span.parentSpanContext?.spanId, workflow.spanId, 'a child of the operation');
          assert.equal(span.attributes['messaging.batch.message_count'], undefined);
          assert.equal(typeof span.attributes['messaging.message.body.size'], 'number');
        }
        assert.deepEqual(
          new Set(links().map((link) => link.context.spanId)),
          new Set(publishes().map((span) => span.spanContext().spanId)),
          'the receive side links every publish span',
        );
        const receives = consumerSide.spans.getFinishedSpans();
        process.stdout.write(
          `# trace ${workflow.traceId}\n#   workflow [INTERNAL] span ${workflow.spanId} (root)\n` +
            publishes()
              .map(
                (span) => `#   ${span.name} [PRODUCER] span ${span.spanContext().spanId} parent ${workflow.spanId}\n`,
              )
              .join('') +
            receives
              .map(
                (span) =>
                  `#   ${span.name} [CONSUMER] span ${span.spanContext().spanId} parent ` +
                  `${span.parentSpanContext?.spanId}, links ${span.links.map((link) => link.context.spanId).join(' ')}\n`,
              )
              .join(''),
        );
      } finally {
        await close();
      }
    });
  });

  it('records a failed publish on its span', async () => {
    const telemetry = testTelemetry();
    const stopped = await startRedisServer();
    await stopped.stop();
    const publisher = newIngestEventServiceRedis(undefined, telemetry.tracerProvider, {
      redisAddress: stopped.url,
      redisChannel: freshTopic(),
      publishTimeoutMs: 50,
    });
    try {
      await assert.rejects(publisher.publishConfirmed(ping('lost')));
      await waitFor('publish span ended', () => telemetry.spans.getFinishedSpans().length === 1);
      const [span] = telemetry.spans.getFinishedSpans();
      assert.equal(span?.status.code, SpanStatusCode.ERROR);
      assert.equal(span?.attributes['error.type'], 'PublishError');
      assert.equal(span?.events[0]?.name, 'exception');

      // Publishes of one turn fail alike: their shared span records the failure once.
      const lost = range(0, 3).map((i) => publisher.publishConfirmed(ping(`lost ${i}`)));
      for (const publish of lost) await assert.rejects(publish);
      await waitFor('shared publish span ended', () => telemetry.spans.getFinishedSpans().length === 2);
      const shared = telemetry.spans.getFinishedSpans()[1];
      assert.equal(shared?.attributes['messaging.batch.message_count'], 3);
      assert.equal(shared?.status.code, SpanStatusCode.ERROR);
      assert.deepEqual(
        shared?.events.map((event) => event.name),
        ['exception'],
      );
    } finally {
      await publisher.close();
      await telemetry.shutdown();
    }
  });

  it('moves each counter by exactly what happened', async () => {
    const telemetry = testTelemetry();
    const channel = freshTopic();
    const options = { redisAddress: redis.url, redisChannel: channel, meterProvider: telemetry.meterProvider };
    const publisher = newIngestEventServiceRedis(undefined, undefined, options);
    const subscriber = newIngestEventServiceRedis(undefined, undefined, options);
    const dest = { 'messaging.destination.name': channel };
    try {
      // The publisher connects on its first publish: connected first, so the 10 below make one operation of their own.
      await publisher.publishConfirmed(ping('warm-up, before anyone subscribed'));
      const fast = await subscriber.subscribe({ bufferSize: 100 });
      const slow = await subscriber.subscribe({ bufferSize: 4 });
      const evicted = await subscriber.subscribe({ bufferSize: 2, overflow: 'evict' });
      assert.equal(await telemetry.metric('tidings.subscriptions.live', dest), 3);

      for (const i of range(0, 10)) publisher.publish(ping(`m${i}`));
      await admin.publish(channel, 'garbage');
      await admin.publish(channel, '{"value":{"type":"unheard_of_event","value":{}}}');
      await publisher.publishConfirmed(ping('last'));
      await take(fast, 11);

      // 11 events: fast got 11; slow kept 4 and dropped 7; evicted kept 2, dropped the 3rd and left.
      assert.equal(await telemetry.metric('messaging.client.sent.messages', dest), 1 + 11);
      assert.equal(await telemetry.metric('messaging.client.consumed.messages', dest), 11);
      assert.equal(
        await telemetry.metric('messaging.client.operation.duration', dest),
        1 + 2,
        'one duration per publish operation: the 10 publishes of one tick went as one',
      );
      assert.equal(await telemetry.metric('tidings.deliveries', dest), 11 + 4 + 7 + 2 + 1 - 7 - 1);
      assert.equal(await telemetry.metric('tidings.dropped', { ...dest, 'tidings.drop.reason': 'overflow' }), 7);
      assert.equal(await telemetry.metric('tidings.dropped', { ...dest, 'tidings.drop.reason': 'eviction' }), 1);
      assert.equal(
        await telemetry.metric('tidings.invalid_messages', { ...dest, 'tidings.invalid.reason': 'not-json' }),
        1,
      );
      assert.equal(
        await telemetry.metric('tidings.invalid_messages', { ...dest, 'tidings.invalid.reason': 'unknown-type' }),
        1,
      );
      assert.equal(await telemetry.metric('tidings.subscriptions.live', dest), 2, 'the evicted one left');
      assert.ok(evicted.closed && slow.dropped === 7);

      await admin.client('KILL', 'TYPE', 'pubsub');
      await waitFor('reconnected', () => subscriber.stats.reconnects === 1);
      assert.equal(await telemetry.metric('tidings.reconnects', dest), 1);

      await Promise.all([fast.close(), slow.close()]);
      assert.equal(await telemetry.metric('tidings.subscriptions.live', dest), 0);
    } finally {
      await Promise.all([publisher.close(), subscriber.close()]);
      await telemetry.shutdown();
    }
  });
});
