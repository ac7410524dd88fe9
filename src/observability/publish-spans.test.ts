import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { testTelemetry } from '../../test/support/telemetry.js';
import { createInMemoryEventService } from '../backends/memory/memory-event-service.js';
import { keepTraceContexts, traceContextOf } from './event-trace.js';

interface Note {
  type: string;
  n: number;
}

/** An in-memory service with a real SDK, and one subscriber that keeps what it gets. */
async function traced(options: { spanPerPublish?: boolean } = {}) {
  const telemetry = testTelemetry();
  const events = createInMemoryEventService<Note>({
    name: 'notes',
    tracerProvider: telemetry.tracerProvider,
    eventType: (note) => note.type,
    ...options,
  });
  const sub = await events.subscribe();
  keepTraceContexts(); // delivered events keep the context they were published in
  const received: Note[] = [];
  const publishSpans = (): ReadableSpan[] =>
    telemetry.spans.getFinishedSpans().filter((span) => span.name === 'publish notes');
  return {
    telemetry,
    events,
    publishSpans,
    /** Takes `count` delivered events (already queued: in-memory delivery is synchronous). */
    take: async (count: number): Promise<Note[]> => {
      for (let i = 0; i < count; i++) received.push((await sub.next()).value as Note);
      return received.splice(0);
    },
    close: async () => {
      await events.close();
      await telemetry.shutdown();
    },
  };
}

const traceparentOf = (span: ReadableSpan | undefined): string =>
  `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`;

describe('publish spans', () => {
  it('gives the publishes made outside any trace in one turn one span, whose context each carries', async () => {
    const t = await traced();
    try {
      for (let n = 0; n < 3; n++) t.events.publish({ type: 'note_added', n });
      const notes = await t.take(3);
      await nextMacrotask(); // the turn is over
      const [span, ...others] = t.publishSpans();
      assert.equal(others.length, 0, 'one span for the turn');
      assert.equal(span?.kind, SpanKind.PRODUCER);
      assert.equal(span?.parentSpanContext, undefined, 'a root span');
      assert.equal(span?.attributes['messaging.batch.message_count'], 3);
      assert.equal(span?.attributes['tidings.event.type'], 'note_added', 'the type all three share');
      assert.equal(span?.attributes['messaging.operation.type'], 'send');
      for (const note of notes) assert.deepEqual(traceContextOf(note), { traceparent: traceparentOf(span) });

      t.events.publish({ type: 'note_added', n: 3 });
      t.events.publish({ type: 'note_removed', n: 4 });
      await t.take(2);
      await nextMacrotask();
      const next = t.publishSpans()[1];
      assert.ok(next, 'the next turn has a span of its own');
      assert.notEqual(next.spanContext().spanId, span?.spanContext().spanId);
      assert.equal(next.attributes['messaging.batch.message_count'], 2);
      assert.equal(next.attributes['tidings.event.type'], undefined, 'no single type to name');

      t.events.publish({ type: 'note_added', n: 5 });
      await nextMacrotask();
      const alone = t.publishSpans()[2];
      assert.equal(alone?.attributes['messaging.batch.message_count'], undefined, 'one message is not a batch');
      assert.equal(alone?.attributes['tidings.event.type'], 'note_added');
    } finally {
      await t.close();
    }
  });

  describe('inside an active span', () => {
    // Only a context manager makes a span active for code called inside it, as in a traced application.
    const manager = new AsyncLocalStorageContextManager();
    before(() => context.setGlobalContextManager(manager.enable()));
    after(() => context.disable());

    it('gives each publish its own span, a child of the active one', async () => {
      const t = await traced();
      try {
        const workflow = t.telemetry.tracerProvider.getTracer('app').startActiveSpan('workflow', (span) => {
          t.events.publish({ type: 'note_added', n: 1 });
          t.events.publish({ type: 'note_removed', n: 2 });
          span.end();
          return span.spanContext();
        });
        t.events.publish({ type: 'note_added', n: 3 }); // after the workflow: outside any trace
        const notes = await t.take(3);
        await nextMacrotask();
        const [first, second, untraced] = t.publishSpans();
        assert.equal(t.publishSpans().length, 3);
        for (const [span, type] of [
          [first, 'note_added'],
          [second, 'note_removed'],
        ] as const) {
          assert.equal(span?.parentSpanContext?.spanId, workflow.spanId, 'a child of the workflow span');
          assert.equal(span?.spanContext().traceId, workflow.traceId);
          assert.equal(span?.attributes['tidings.event.type'], type);
          assert.equal(span?.attributes['messaging.batch.message_count'], undefined);
        }
        assert.notEqual(untraced?.spanContext().traceId, workflow.traceId, 'the untraced publish starts a trace');
        assert.deepEqual(
          notes.map((note) => traceContextOf(note)?.traceparent),
          [first, second, untraced].map(traceparentOf),
          'each message carries its own span',
        );
      } finally {
        await t.close();
      }
    });
  });

  it('gives every publish its own span with spanPerPublish', async () => {
    const t = await traced({ spanPerPublish: true });
    try {
      for (let n = 0; n < 3; n++) t.events.publish({ type: 'note_added', n });
      const notes = await t.take(3);
      const spans = t.publishSpans();
      assert.equal(spans.length, 3, 'ended as each publish is done');
      assert.equal(new Set(spans.map((span) => span.spanContext().traceId)).size, 3, 'each its own trace');
      assert.deepEqual(
        notes.map((note) => traceContextOf(note)?.traceparent),
        spans.map(traceparentOf),
      );
    } finally {
      await t.close();
    }
  });
});
