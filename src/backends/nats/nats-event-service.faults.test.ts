/**
 * Core NATS under faults, on real servers this file starts and kills: a
 * three-node cluster (the node a subscriber is connected to killed, or
 * frozen with SIGSTOP), a single server restarted or flooding a slow
 * consumer, no server at all, and 1,000 subscriptions on one connection.
 * Every wait is for a condition (status, delivery, server monitoring), with a
 * deadline; every server is killed in `after()` whatever happened.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  type NatsCluster,
  type NatsNode,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
} from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { waitFor } from '../../conformance/harness.js';
import type { BackendState, Gap, Subscription } from '../../core/contract.js';
import { PublishError } from '../../errors.js';
import { createNatsEventService, type NatsEventService } from './nats-event-service.js';

const WAIT_MS = 20_000;

interface Connz {
  connections?: { name?: string; subscriptions?: number }[];
}

async function connections(node: { monitorPort: number }, name: string): Promise<{ subscriptions?: number }[]> {
  const response = await fetch(`http://127.0.0.1:${node.monitorPort}/connz?limit=10000`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = (await response.json()) as Connz;
  return (body.connections ?? []).filter((c) => c.name === name);
}

/** The running, answering node a client named `name` is connected to. */
async function nodeOf(nodes: readonly NatsNode[], name: string): Promise<NatsNode> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    for (const node of nodes) {
      if (!node.running) continue;
      const found = await connections(node, name).catch(() => []);
      if (found.length > 0) return node;
    }
    if (Date.now() > deadline) throw new Error(`no node lists a connection named ${name}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Reads a subscription in the background: the sequence numbers, and each gap with how many events came before it. */
function reading(sub: Subscription<SeqEvent>): { seqs: number[]; gaps: { gap: Gap; after: number }[] } {
  const got = { seqs: [] as number[], gaps: [] as { gap: Gap; after: number }[] };
  void (async () => {
    for await (const event of sub) {
      const gap = sub.takeGap();
      if (gap) got.gaps.push({ gap, after: got.seqs.length });
      got.seqs.push(event.seq);
    }
  })();
  return got;
}

/** Publishes 0, 1, 2, … every `everyMs`, bounded in count, until stopped. */
function pump(service: NatsEventService<SeqEvent>, everyMs = 2, max = 50_000): { sent(): number; stop(): void } {
  let seq = 0;
  const timer = setInterval(() => {
    if (seq >= max) return clearInterval(timer);
    service.publish({ seq: seq++ });
  }, everyMs);
  return { sent: () => seq, stop: () => clearInterval(timer) };
}

function statesOf(service: NatsEventService<SeqEvent>): BackendState[] {
  const states: BackendState[] = [];
  service.onStatus((status) => states.push(status.state));
  return states;
}

function assertIncreasing(seqs: readonly number[]): void {
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(
      (seqs[i] as number) > (seqs[i - 1] as number),
      `out of order or duplicated at ${i}: ${seqs[i - 1]}, ${seqs[i]}`,
    );
  }
}

describe('core NATS on a three-node cluster', { timeout: 120_000 }, () => {
  let cluster: NatsCluster | undefined;
  const services: NatsEventService<SeqEvent>[] = [];
  const open = (options: Partial<Parameters<typeof createNatsEventService<SeqEvent>>[0]> & { subject: string }) => {
    assert.ok(cluster);
    const service = createNatsEventService<SeqEvent>({ natsAddress: cluster.urls, codec: seqCodec, ...options });
    services.push(service);
    return service;
  };

  before(async () => {
    cluster = await startNatsCluster();
  });
  after(async () => {
    await Promise.allSettled(services.map((s) => s.close()));
    await cluster?.close();
  });

  /**
   * A subscriber on one node and a publisher on another, publishing all
   * along; `fault` is done to the subscriber's node. Returns what the
   * subscriber read, once it reads again what was published after it was
   * ready again.
   */
  async function acrossFault(fault: (node: NatsNode) => Promise<() => Promise<void>>) {
    assert.ok(cluster);
    const subject = `faults.${randomUUID()}`;
    const name = `subscriber ${subject}`;
    const subscriber = open({ subject, connectionName: name, heartbeatMs: 250, subscribeTimeoutMs: 2_000 });
    const states = statesOf(subscriber);
    const sub = await subscriber.subscribe({ bufferSize: 100_000 });
    const node = await nodeOf(cluster.nodes, name);
    const other = cluster.nodes.find((n) => n !== node) as NatsNode;
    const publisher = open({ subject, natsAddress: other.url });
    const got = reading(sub);
    const publishing = pump(publisher);
    let undo: (() => Promise<void>) | undefined;
    try {
      await waitFor('events before the fault', () => got.seqs.length >= 20, WAIT_MS);
      undo = await fault(node);
      await waitFor(
        () => `down, heard ${states}`,
        () => states.includes('down'),
        WAIT_MS,
      );
      await waitFor(
        () => `ready again, heard ${states}`,
        () => states.lastIndexOf('ready') > states.indexOf('down'),
        WAIT_MS,
      );
      const mark = publishing.sent();
      await waitFor(
        `events published after recovery (from ${mark})`,
        () => (got.seqs.at(-1) ?? -1) >= mark + 20,
        WAIT_MS,
      );
    } finally {
      publishing.stop();
      await undo?.();
    }
    const movedTo = await nodeOf(
      cluster.nodes.filter((n) => n !== node),
      name,
    );
    await sub.close();
    return { got, subscriber, node, movedTo, sent: publishing.sent() };
  }

  test('the node the subscriber is connected to is killed mid-stream: it fails over, one reconnect gap, delivery resumes in order', async () => {
    const { got, subscriber, node, movedTo, sent } = await acrossFault(async (node) => {
      await node.kill();
      return async () => {
        await node.restart();
        await cluster?.ready();
      };
    });
    assert.notEqual(movedTo, node, 'the client moved to another node');
    assert.deepEqual(
      got.gaps.map(({ gap }) => gap),
      [{ reason: 'reconnect', dropped: 0 }],
    );
    const gapAt = got.gaps[0]?.after ?? -1;
    assert.ok(gapAt >= 20, 'the gap comes after what was read before the kill');
    assertIncreasing(got.seqs);
    // At-most-once: what arrived is a subsequence of what was sent; what was lost meanwhile is what the gap says.
    assert.ok((got.seqs.at(-1) ?? sent) < sent && got.seqs.length <= sent);
    assert.ok(subscriber.stats.reconnects >= 1);
  });

  test('the subscriber’s node is partitioned (SIGSTOP): the client finds it stale, fails over, one reconnect gap', async () => {
    const { got, subscriber, node, movedTo } = await acrossFault(async (node) => {
      node.pause();
      return async () => {
        node.resume();
        await cluster?.ready();
      };
    });
    assert.notEqual(movedTo, node);
    assert.deepEqual(
      got.gaps.map(({ gap }) => gap.reason),
      ['reconnect'],
    );
    assertIncreasing(got.seqs);
    assert.ok(subscriber.stats.reconnects >= 1);
  });

  test('the whole cluster down: publishes wait bounded and fail counted; when it is back, one reconnect gap and delivery', async () => {
    assert.ok(cluster);
    const subject = `faults.all.${randomUUID()}`;
    const service = open({ subject, publishTimeoutMs: 300, maxPendingWhileDown: 4, heartbeatMs: 250 });
    const states = statesOf(service);
    const sub = await service.subscribe();
    await service.publishConfirmed({ seq: 0 });
    assert.equal(((await sub.next()).value as SeqEvent).seq, 0);
    await Promise.all(cluster.nodes.map((node) => node.kill()));
    try {
      await waitFor(
        () => `down, heard ${states}`,
        () => service.status.state === 'down',
        WAIT_MS,
      );
      for (let i = 1; i <= 10; i++) service.publish({ seq: i });
      assert.equal(service.stats.publishFailed, 6, 'beyond maxPendingWhileDown, at once');
      await assert.rejects(service.publishConfirmed({ seq: 11 }), PublishError);
      await waitFor('the parked ones time out', () => service.stats.publishFailed === 11, WAIT_MS);
    } finally {
      await Promise.all(cluster.nodes.map((node) => node.restart()));
      await cluster.ready();
    }
    await waitFor(
      () => `ready again, heard ${states}`,
      () => service.status.state === 'ready',
      WAIT_MS,
    );
    await service.publishConfirmed({ seq: 12 });
    assert.equal(((await sub.next()).value as SeqEvent).seq, 12, 'nothing that failed arrives late');
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
    await sub.close();
  });

  test('1,000 subscriptions share one connection and one server-side subscription, and each gets every event', async () => {
    assert.ok(cluster);
    const subject = `faults.many.${randomUUID()}`;
    const name = `many ${subject}`;
    const service = open({ subject, connectionName: name, natsAddress: cluster.nodes[0].url });
    const subs = await Promise.all(Array.from({ length: 1_000 }, () => service.subscribe({ bufferSize: 16 })));
    const listed = await connections(cluster.nodes[0], name);
    assert.equal(listed.length, 1, 'one connection');
    assert.equal(listed[0]?.subscriptions, 1, 'one subscription on the server');
    for (let i = 0; i < 10; i++) await service.publishConfirmed({ seq: i });
    await waitFor('every subscription holds the 10 events', () => subs.every((s) => s.pending === 10), WAIT_MS);
    const first = subs[0] as Subscription<SeqEvent>;
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) seqs.push(((await first.next()).value as SeqEvent).seq);
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(service.stats.delivered, 10_000);
    await Promise.all(subs.map((s) => s.close()));
    assert.equal(service.liveSubscriptions, 0);
  });
});

describe('core NATS on a single server', { timeout: 90_000 }, () => {
  const servers: NatsServer[] = [];
  const services: NatsEventService<SeqEvent>[] = [];
  after(async () => {
    await Promise.allSettled(services.map((s) => s.close()));
    await Promise.allSettled(servers.map((s) => s.close()));
  });
  const track = (service: NatsEventService<SeqEvent>) => {
    services.push(service);
    return service;
  };

  test('a server restart: down meanwhile, publishes wait bounded and fail counted, then a reconnect gap and delivery again', async () => {
    const server = await startNatsServer({ jetstream: false });
    servers.push(server);
    const service = track(
      createNatsEventService<SeqEvent>({
        natsAddress: server.url,
        subject: 'faults.restart',
        codec: seqCodec,
        publishTimeoutMs: 300,
        maxPendingWhileDown: 5,
      }),
    );
    const states = statesOf(service);
    const sub = await service.subscribe();
    await service.publishConfirmed({ seq: 0 });
    assert.equal(((await sub.next()).value as SeqEvent).seq, 0);

    await server.stop();
    await waitFor(
      () => `down, heard ${states}`,
      () => service.status.state === 'down',
      WAIT_MS,
    );
    assert.doesNotMatch(service.status.reason ?? '', /127\.0\.0\.1/, 'a status reason never names the address');
    await assert.rejects(service.publishConfirmed({ seq: 1 }), PublishError);
    const failedBefore = service.stats.publishFailed;
    for (let i = 0; i < 10; i++) service.publish({ seq: 100 + i });
    assert.equal(service.stats.publishFailed, failedBefore + 5, 'beyond maxPendingWhileDown, publishes fail at once');
    await waitFor('the parked publishes time out', () => service.stats.publishFailed === failedBefore + 10, WAIT_MS);

    await server.restart();
    await waitFor(
      () => `ready, heard ${states}`,
      () => service.status.state === 'ready',
      WAIT_MS,
    );
    await service.publishConfirmed({ seq: 2 });
    assert.equal(((await sub.next()).value as SeqEvent).seq, 2, 'nothing parked and failed is sent late');
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
    assert.deepEqual(
      states.filter((s, i) => s !== states[i - 1]),
      ['ready', 'down', 'ready'],
    );
    assert.equal(service.stats.reconnects, 1);
    await sub.close();
  });

  test('an event over the server’s max_payload fails that publish only, counted; the connection goes on', async () => {
    const server = await startNatsServer({ jetstream: false, maxPending: 64 * 1024 });
    servers.push(server);
    const service = track(
      createNatsEventService<SeqEvent>({ natsAddress: server.url, subject: 'faults.big', codec: seqCodec }),
    );
    const sub = await service.subscribe();
    await assert.rejects(service.publishConfirmed({ seq: 0, pad: 'x'.repeat(100 * 1024) }), (error: Error) => {
      assert.ok(error instanceof PublishError);
      assert.match(error.message, /refused the publish: .*max_payload/);
      return true;
    });
    service.publish({ seq: 1, pad: 'x'.repeat(100 * 1024) });
    assert.equal(service.stats.publishFailed, 2);
    await service.publishConfirmed({ seq: 2 });
    assert.equal(((await sub.next()).value as SeqEvent).seq, 2);
    assert.equal(service.status.state, 'ready');
    assert.equal(service.stats.reconnects, 0);
    await sub.close();
  });

  test('no server reachable at all: publishes wait bounded, fail counted, status down with the cause', async () => {
    const dead = await startNatsServer({ jetstream: false });
    const url = dead.url;
    await dead.close(); // a port nothing listens on now
    const service = track(
      createNatsEventService<SeqEvent>({
        natsAddress: url,
        subject: 'faults.none',
        codec: seqCodec,
        publishTimeoutMs: 200,
        maxPendingWhileDown: 3,
      }),
    );
    for (let i = 0; i < 10; i++) service.publish({ seq: i });
    assert.equal(service.stats.publishFailed, 7);
    await assert.rejects(service.publishConfirmed({ seq: 10 }), (error: Error) => {
      assert.ok(error instanceof PublishError);
      assert.match(error.message, /not connected|already wait/);
      return true;
    });
    await waitFor('every publish failed and counted', () => service.stats.publishFailed === 11, WAIT_MS);
    await waitFor('down with a cause', () => service.status.state === 'down', WAIT_MS);
    assert.match(service.status.reason ?? '', /ECONNREFUSED|refused/i);
    assert.equal(service.stats.published, 0);
  });

  test('a consumer too slow for the server’s max_pending is cut by the server, and that is a reconnect gap; nothing read is lost uncounted', async () => {
    const server = await startNatsServer({ jetstream: false, maxPending: 256 * 1024, writeDeadlineMs: 250 });
    servers.push(server);
    const subject = 'faults.slow';
    const service = track(createNatsEventService<SeqEvent>({ natsAddress: server.url, subject, codec: seqCodec }));
    const sub = await service.subscribe({ bufferSize: 200_000 });
    const flag = new Int32Array(new SharedArrayBuffer(4));
    // The flood comes from another thread, so this one can stop reading: its event loop is blocked until the flood is out.
    const worker = new Worker(
      `
      const { workerData } = require('node:worker_threads');
      const { connect } = require('@nats-io/transport-node');
      const done = (v) => { Atomics.store(workerData.flag, 0, v); Atomics.notify(workerData.flag, 0); };
      (async () => {
        const nc = await connect({ servers: workerData.url });
        const pad = 'x'.repeat(1000);
        for (let seq = 0; seq < workerData.count; seq++) {
          nc.publish(workerData.subject, JSON.stringify({ seq, pad }));
          if (seq % 1000 === 999) await nc.flush();
        }
        await nc.flush();
        await nc.close();
        done(1);
      })().catch(() => done(2));
      `,
      { eval: true, workerData: { url: server.url, subject, count: 30_000, flag } },
    );
    try {
      const outcome = Atomics.wait(flag, 0, 0, 30_000);
      assert.notEqual(outcome, 'timed-out', 'the flood was published');
      assert.equal(flag[0], 1, 'the flood was published');
      await waitFor(
        'the server cut the slow consumer, the client came back',
        () => service.stats.reconnects >= 1,
        WAIT_MS,
      );
      const varz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as {
        slow_consumers?: number;
      };
      assert.ok((varz.slow_consumers ?? 0) >= 1, 'the server counted a slow consumer');
      assert.ok(service.stats.received < 30_000, 'some of the flood was lost');
      // The gap is reported once the server confirmed the subscription again, which `ready` says.
      await waitFor(
        () => `ready again, is ${service.status.state}`,
        () => service.status.state === 'ready',
        WAIT_MS,
      );
      assert.equal(sub.dropped, 0);
      assert.equal(sub.pending, service.stats.received, 'every message received is buffered');
      let gap: Gap | undefined;
      let read = 0;
      while (sub.pending > 0) {
        await sub.next();
        read++;
        gap ??= sub.takeGap();
      }
      assert.deepEqual(gap, { reason: 'reconnect', dropped: 0 });
      assert.equal(read + sub.dropped, service.stats.received, 'every message received is read or counted dropped');
    } finally {
      await worker.terminate();
    }
  });
});
