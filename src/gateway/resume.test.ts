import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { INGEST_EVENTS } from '../../test/support/monitor-events.js';
import { type SseFrame, type StreamOutcome, streamOnce } from '../../test/support/resume-client.js';
import { readIngest, seqEvent } from '../../test/support/seq-monitor-events.js';
import { until } from '../../test/support/sse-client.js';
import type { IngestEventService } from '../monitor/services.js';
import { newIngestEventServiceInMem } from '../monitor/services.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway, type MonitorGatewayOptions } from './monitor-gateway.js';

const TOKEN = 'resume-token';
const SIPS_ONLY = 'resume-token-sips-list';
const auth = { authorization: `Bearer ${TOKEN}` };

async function start(
  ingest: IngestEventService = newIngestEventServiceInMem(),
  options: Partial<MonitorGatewayOptions> = {},
): Promise<{ url: string; ingest: IngestEventService; gateway: Gateway }> {
  const gateway = createMonitorGateway({
    ingest,
    tokens: [{ token: TOKEN }, { token: SIPS_ONLY, attributes: ['ingest:sips:list'] }],
    pingIntervalMs: 600_000,
    dashboard: false,
    ...options,
  });
  const url = await gateway.listen();
  after(async () => {
    await gateway.close();
    await ingest.close();
  });
  return { url: `${url}/ingest/monitor`, ingest, gateway };
}

const isEvent = (frame: SseFrame): boolean =>
  frame.event === 'message' && readIngest(frame).type !== 'ingest_ping_event';
const seqs = (outcome: StreamOutcome): (number | undefined)[] =>
  outcome.frames.filter(isEvent).map((frame) => readIngest(frame).seq);

/** Reads until `count` events arrived, then cuts. */
function readEvents(
  url: string,
  count: number,
  options: { lastId?: string | undefined; headers?: Record<string, string> } = {},
): Promise<StreamOutcome> {
  let seen = 0;
  return streamOnce(url, {
    headers: options.headers ?? auth,
    lastId: options.lastId,
    onFrame: (frame) => (isEvent(frame) && ++seen === count ? 'cut' : undefined),
  });
}

/** Opens a stream, waits until the gateway streams it, and returns the pending outcome. */
async function connected(
  gateway: Gateway,
  url: string,
  count: number,
  options: { lastId?: string | undefined; headers?: Record<string, string> } = {},
): Promise<{ outcome: Promise<StreamOutcome> }> {
  const before = gateway.openStreams;
  const outcome = readEvents(url, count, options);
  await until(() => gateway.openStreams > before);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { outcome };
}

describe('gateway resume (Last-Event-ID)', () => {
  it('sends `retry:` once, on the first frame, and `id:` on every event and on nothing else', async () => {
    const { url, ingest, gateway } = await start();
    const { outcome: pending } = await connected(gateway, url, 3);
    for (const seq of [0, 1, 2]) ingest.publish(seqEvent(seq));
    const outcome = await pending;
    const [hello, ...events] = outcome.frames;
    assert.equal(hello?.retry, 2000);
    assert.equal(hello?.id, undefined, 'the hello ping has no id');
    assert.deepEqual(seqs(outcome), [0, 1, 2]);
    for (const frame of events) {
      assert.equal(frame.retry, undefined, 'retry comes once');
      assert.match(frame.id ?? '', /^mem\.[A-Za-z0-9_-]+:\d+$/);
    }
    assert.equal(new Set(events.map((frame) => frame.id)).size, 3);
    assert.equal(outcome.lastId, events[2]?.id);
  });

  it('resumes after the Last-Event-ID header with exactly what was missed, then live', async () => {
    const { url, ingest, gateway } = await start();
    const { outcome: first } = await connected(gateway, url, 3);
    for (const seq of [0, 1, 2]) ingest.publish(seqEvent(seq));
    const { lastId } = await first;
    await until(() => gateway.openStreams === 0);
    for (const seq of [3, 4, 5, 6, 7]) ingest.publish(seqEvent(seq));
    const { outcome: second } = await connected(gateway, url, 6, { lastId });
    ingest.publish(seqEvent(8));
    const outcome = await second;
    assert.deepEqual(seqs(outcome), [3, 4, 5, 6, 7, 8]);
    assert.equal(outcome.frames.filter((frame) => frame.event === 'gap').length, 0, 'no gap');
  });

  it('takes ?lastEventId= from clients that cannot set headers; the header wins over it', async () => {
    const { url, ingest, gateway } = await start();
    const { outcome: first } = await connected(gateway, url, 2);
    for (const seq of [0, 1, 2, 3]) ingest.publish(seqEvent(seq));
    const { frames } = await first;
    const ids = frames.filter(isEvent).map((frame) => frame.id as string);
    const byQuery = await readEvents(`${url}?lastEventId=${encodeURIComponent(ids[0] as string)}`, 3);
    assert.deepEqual(seqs(byQuery), [1, 2, 3]);
    const both = await readEvents(`${url}?lastEventId=${encodeURIComponent(ids[0] as string)}`, 2, {
      lastId: ids[1],
    });
    assert.deepEqual(seqs(both), [2, 3], 'the header named the later position');
  });

  it("another gateway's position (or a restarted one's) gives the gap event first, then live from now", async () => {
    // Two gateways over one service without history: each keeps a window of its own.
    const shared = newIngestEventServiceInMem({ history: false });
    const a = await start(shared);
    const b = await start(shared);
    const { outcome: first } = await connected(a.gateway, a.url, 1);
    shared.publish(seqEvent(0));
    const { lastId } = await first;
    assert.match(lastId ?? '', /^gw\./, "the gateway's own window names the position");
    shared.publish(seqEvent(1)); // before the reconnect: B cannot know what A's client missed
    const { outcome: second } = await connected(b.gateway, b.url, 1, { lastId });
    shared.publish(seqEvent(2));
    const outcome = await second;
    const [hello, gap, ...rest] = outcome.frames;
    assert.equal(readIngest(hello as SseFrame).type, 'ingest_ping_event');
    assert.equal(gap?.event, 'gap');
    assert.equal(gap?.id, undefined, 'a gap notice carries no id');
    assert.deepEqual(JSON.parse(gap?.data ?? ''), { reason: 'unknown-position', problem: 'foreign', dropped: 0 });
    assert.deepEqual(
      rest.map((frame) => readIngest(frame).seq),
      [2],
    );
  });

  it('a Last-Event-ID that cannot be a position (CR/LF, too long, garbage) gives the gap event, then live', async () => {
    const { url, ingest, gateway } = await start();
    const cases: [string, string][] = [
      [`${url}?lastEventId=${encodeURIComponent('mem.x:1\r\nevent: evil')}`, 'malformed'],
      [`${url}?lastEventId=${'a'.repeat(201)}`, 'malformed'],
      [`${url}?lastEventId=garbage`, 'malformed'],
    ];
    for (const [target, problem] of cases) {
      const before = gateway.openStreams;
      const pending = streamOnce(target, {
        headers: auth,
        onFrame: (frame) => (isEvent(frame) ? 'cut' : undefined),
      });
      await until(() => gateway.openStreams > before);
      ingest.publish(seqEvent(1));
      const outcome = await pending;
      assert.equal(outcome.frames[1]?.event, 'gap', target);
      assert.deepEqual(JSON.parse(outcome.frames[1]?.data ?? ''), { reason: 'unknown-position', problem, dropped: 0 });
      assert.equal(
        outcome.frames.some((frame) => frame.event === 'evil'),
        false,
        'no smuggled field',
      );
      assert.deepEqual(seqs(outcome), [1]);
      await until(() => gateway.openStreams === before);
    }
  });

  it('past retention: an `expired` gap first, then the retained rest', async () => {
    const { url, ingest, gateway } = await start(newIngestEventServiceInMem({ history: { maxEvents: 10 } }));
    const { outcome: first } = await connected(gateway, url, 1);
    ingest.publish(seqEvent(0));
    const { lastId } = await first;
    for (let seq = 1; seq < 30; seq++) ingest.publish(seqEvent(seq));
    const outcome = await readEvents(url, 10, { lastId });
    assert.equal(outcome.frames[1]?.event, 'gap');
    assert.deepEqual(JSON.parse(outcome.frames[1]?.data ?? ''), { reason: 'expired', dropped: 19 });
    assert.deepEqual(
      seqs(outcome),
      Array.from({ length: 10 }, (_, i) => 20 + i),
    );
  });

  it('replayed events pass the same per-event access check as live ones', async () => {
    const { url, ingest, gateway } = await start();
    const allowed = new Set(['sip_created_event', 'sip_updated_event', 'sip_status_updated_event']);
    const sipsOnly = { authorization: `Bearer ${SIPS_ONLY}` };
    const { outcome: first } = await connected(gateway, url, 1, { headers: sipsOnly });
    ingest.publish(seqEvent(0));
    const { lastId } = await first;
    // Missed while disconnected: every ingest event type, most of them not for this user.
    for (const event of INGEST_EVENTS) ingest.publish(event);
    ingest.publish(seqEvent(1));
    const replayed = await readEvents(url, 1 + INGEST_EVENTS.filter((e) => allowed.has(e.type)).length, {
      lastId,
      headers: sipsOnly,
    });
    const types = replayed.frames.filter(isEvent).map((frame) => readIngest(frame).type);
    assert.ok(types.length > 1);
    for (const type of types) assert.ok(allowed.has(type), `${type} must not be replayed to this user`);
    assert.deepEqual(types, [
      ...INGEST_EVENTS.map((e) => e.type).filter((type) => allowed.has(type)),
      'sip_updated_event',
    ]);
    // The same stream for a user who may see everything carries the others: the filter, not the replay, removed them.
    const notPings = INGEST_EVENTS.filter((e) => e.type !== 'ingest_ping_event').length;
    const everything = await readEvents(url, notPings + 1, { lastId });
    assert.equal(everything.frames.filter(isEvent).length, notPings + 1);
    assert.ok(notPings + 1 > types.length);
  });
});
