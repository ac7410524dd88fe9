import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useRedisServer } from '../../test/support/redis-fixture.js';
import { openSse } from '../../test/support/sse-client.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { freshTopic, take } from '../conformance/harness.js';
import { createMonitorGateway } from '../gateway/monitor-gateway.js';
import { ingestCodec } from '../monitor/codec.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';
import { keepTraceContexts, traceContextOf } from './event-trace.js';

const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** An ingest ping on the wire, with whatever top-level trace fields are given. */
const wire = (message: string, trace: Record<string, unknown>): string =>
  JSON.stringify({ value: { type: 'ingest_ping_event', value: { message } }, ...trace });

/** Messages in publish order, each with the trace context a consumer may see of it. */
const cases: { message: string; trace: Record<string, unknown>; expect: Record<string, string> | undefined }[] = [
  {
    message: 'traced',
    trace: { traceparent: good, tracestate: 'vendor=a' },
    expect: { traceparent: good, tracestate: 'vendor=a' },
  },
  { message: 'upper-case ids', trace: { traceparent: good.toUpperCase() }, expect: undefined },
  { message: 'version ff', trace: { traceparent: `ff${good.slice(2)}`, tracestate: 'vendor=a' }, expect: undefined },
  { message: 'markup', trace: { traceparent: '<script>alert(1)</script>' }, expect: undefined },
  { message: 'not a string', trace: { traceparent: 42 }, expect: undefined },
  {
    message: 'tracestate too long',
    trace: { traceparent: good, tracestate: `k=${'v'.repeat(511)}` },
    expect: { traceparent: good },
  },
  { message: 'tracestate alone', trace: { tracestate: 'vendor=a' }, expect: undefined },
];

describe('only a well-formed trace context passes', () => {
  const redis = useRedisServer();

  it('the codec drops what is malformed and says which field', () => {
    for (const { message, trace, expect } of cases) {
      const result = ingestCodec.decode(wire(message, trace));
      assert.ok(result.ok, message);
      assert.deepEqual(result.trace, expect, message);
      assert.equal(result.traceDropped !== undefined, message !== 'traced', message);
    }
  });

  it('a message on Redis reaches a subscriber without it, counted by field', async () => {
    const channel = freshTopic();
    const telemetry = testTelemetry();
    const service = newIngestEventServiceRedis(undefined, undefined, {
      redisAddress: redis.server.url,
      redisChannel: channel,
      meterProvider: telemetry.meterProvider,
    });
    keepTraceContexts(); // as a consumer that reads them does
    try {
      const sub = await service.subscribe();
      for (const { message, trace } of cases) await redis.admin.publish(channel, wire(message, trace));
      const events = await take(sub, cases.length);
      events.forEach((event, i) => {
        const { message, expect } = cases[i] as (typeof cases)[number];
        assert.deepEqual(event.value, { message }, 'the event itself is delivered');
        assert.deepEqual(traceContextOf(event), expect, message);
      });
      assert.deepEqual(service.stats.traceContextDropped, { traceparent: 4, tracestate: 2 });
      const dropped = (field: string) =>
        telemetry.metric('tidings.trace_context.dropped', {
          'messaging.destination.name': channel,
          'tidings.trace_context.field': field,
        });
      assert.deepEqual([await dropped('traceparent'), await dropped('tracestate')], [4, 2], 'and in the metric');
    } finally {
      await service.close();
      await telemetry.shutdown();
    }
  });

  it('and the gateway sends browsers none of it', async () => {
    const channel = freshTopic();
    const ingest = newIngestEventServiceRedis(undefined, undefined, {
      redisAddress: redis.server.url,
      redisChannel: channel,
    });
    const gateway = createMonitorGateway({ ingest, tokens: [{ token: 'tok' }], pingIntervalMs: 60_000 });
    try {
      const client = await openSse(`${await gateway.listen()}/ingest/monitor`, { authorization: 'Bearer tok' });
      const data = () => client.messages.filter((m) => m.event === '' || m.event === 'message');
      await client.waitFor(() => data().length >= 1); // the ping on connect: subscribed
      for (const { message, trace } of cases) await redis.admin.publish(channel, wire(message, trace));
      await client.waitFor(() => data().length >= 1 + cases.length);
      const frames = data()
        .slice(1)
        .map((m) => JSON.parse(m.data) as Record<string, unknown>);
      frames.forEach((frame, i) => {
        const { message, expect } = cases[i] as (typeof cases)[number];
        assert.deepEqual(
          { traceparent: frame.traceparent, tracestate: frame.tracestate },
          {
            traceparent: expect?.traceparent,
            tracestate: expect?.tracestate,
          },
          message,
        );
      });
      assert.ok(!/alert|tracestate alone.*vendor/.test(client.raw()), 'nothing of the malformed fields in the stream');
      client.close();
    } finally {
      await gateway.close();
      await ingest.close();
    }
  });
});
