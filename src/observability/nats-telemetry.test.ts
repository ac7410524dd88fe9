/**
 * Trace context across NATS, with a real OpenTelemetry SDK and a real
 * nats-server: a publish inside a span sends its context in headers (not in
 * the payload), and the receiving service's CONSUMER span is that PRODUCER
 * span's child, as over Redis. Malformed headers are dropped and counted; a
 * body trace (bytes copied from the Redis wire) still counts when there are
 * no headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { freshTopic, take, waitFor } from '../conformance/harness.js';
import { ingestCodec } from '../monitor/codec.js';
import { newIngestEventServiceNats } from '../monitor/nats-services.js';
import type { MonitorEvent } from '../monitor/schemas.js';
import { keepTraceContexts, traceContextOf } from './event-trace.js';

const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const ping = (message: string): MonitorEvent => ({ type: 'ingest_ping_event', value: { message } }) as MonitorEvent;

describe('trace context across NATS', { timeout: 30_000 }, () => {
  let server: NatsServer | undefined;
  let raw: NatsConnection | undefined;
  const manager = new AsyncLocalStorageContextManager();

  before(async () => {
    context.setGlobalContextManager(manager.enable());
    server = await startNatsServer({ jetstream: false });
    raw = await connect({ servers: server.url });
  });
  after(async () => {
    await raw?.close();
    await server?.close();
    context.disable();
  });

  it('a publish inside a span: headers carry it, the payload is the plain wire text, the receive span is its child', async () => {
    assert.ok(server && raw);
    const subject = freshTopic();
    const telemetry = testTelemetry();
    const config = { natsAddress: server.url, subject };
    const publisher = newIngestEventServiceNats(undefined, telemetry.tracerProvider, config);
    const subscriber = newIngestEventServiceNats(undefined, telemetry.tracerProvider, config);
    const seen: Msg[] = [];
    const rawSub = raw.subscribe(subject, {
      callback: (_error, msg) => {
        seen.push(msg);
      },
    });
    await raw.flush();
    try {
      const sub = await subscriber.subscribe();
      const tracer = telemetry.tracerProvider.getTracer('test');
      const parent = tracer.startSpan('workflow');
      await context.with(trace.setSpan(context.active(), parent), () => publisher.publishConfirmed(ping('traced')));
      parent.end();
      await take(sub, 1);
      await waitFor('the raw client saw it', () => seen.length === 1);
      const msg = seen[0] as Msg;
      assert.equal(msg.string(), ingestCodec.encode(ping('traced')), 'the payload carries no trace fields');
      const traceparent = msg.headers?.get('traceparent') ?? '';
      assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

      await waitFor('both spans ended', () =>
        telemetry.spans.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER),
      );
      const spans = telemetry.spans.getFinishedSpans();
      const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
      const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER);
      assert.ok(producer && consumer);
      assert.equal(producer.name, `publish ${subject}`);
      assert.equal(producer.attributes['messaging.system'], 'nats');
      assert.equal(
        producer.spanContext().traceId,
        parent.spanContext().traceId,
        'the producer span is in the workflow',
      );
      assert.equal(traceparent, `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`);
      assert.equal(consumer.name, `receive ${subject}`);
      assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId, 'one trace across NATS');
      assert.equal(
        consumer.parentSpanContext?.spanId,
        producer.spanContext().spanId,
        'receive is the child of publish',
      );
      assert.deepEqual(consumer.links[0]?.context.spanId, producer.spanContext().spanId);
    } finally {
      rawSub.unsubscribe();
      await Promise.all([publisher.close(), subscriber.close()]);
      await telemetry.shutdown();
    }
  });

  it('malformed headers are dropped and counted; a body trace counts when there are no headers', async () => {
    assert.ok(server && raw);
    const subject = freshTopic();
    const service = newIngestEventServiceNats(undefined, undefined, { natsAddress: server.url, subject });
    keepTraceContexts();
    try {
      const sub = await service.subscribe();
      const bad = headers();
      bad.set('traceparent', '<script>');
      raw.publish(subject, ingestCodec.encode(ping('bad header')), { headers: bad });
      const state = headers();
      state.set('traceparent', good);
      state.set('tracestate', 'NOT VALID');
      raw.publish(subject, ingestCodec.encode(ping('bad state')), { headers: state });
      raw.publish(subject, JSON.stringify({ ...JSON.parse(ingestCodec.encode(ping('in body'))), traceparent: good }));
      const [first, second, third] = await take(sub, 3);
      assert.equal(traceContextOf(first as MonitorEvent), undefined);
      assert.deepEqual(traceContextOf(second as MonitorEvent), { traceparent: good });
      assert.deepEqual(traceContextOf(third as MonitorEvent), { traceparent: good });
      assert.deepEqual(service.stats.traceContextDropped, { traceparent: 1, tracestate: 1 });
    } finally {
      await service.close();
    }
  });
});
