import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type NatsNode, startNatsCluster } from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range, take, waitFor } from '../../conformance/harness.js';
import type { Subscription } from '../../core/contract.js';
import { PublishError } from '../../errors.js';
import {
  createNatsStreamEventService,
  type NatsStreamEventService,
  type NatsStreamEventServiceOptions,
} from './nats-stream-event-service.js';

/** Each case's own deadline: failover waits for missed pings and a stream leader election, never longer. */
const CASE_TIMEOUT_MS = 60_000;
/** Waiting for events across a failover. */
const FAILOVER_WAIT_MS = 30_000;

const cluster = await startNatsCluster();
const opened: NatsStreamEventService<SeqEvent>[] = [];

after(() => cluster.close());

// Whatever a case did to the cluster, the next one starts with three healthy nodes and no services.
afterEach(async () => {
  await Promise.all(opened.splice(0).map((service) => service.close()));
  for (const node of cluster.nodes) {
    if (!node.running) await node.restart();
    else node.resume();
  }
  await cluster.ready();
});

function service(
  name: string,
  options: Partial<NatsStreamEventServiceOptions<SeqEvent>> & { subject: string },
): NatsStreamEventService<SeqEvent> {
  const created = createNatsStreamEventService<SeqEvent>({
    natsAddress: cluster.urls,
    codec: seqCodec,
    replicas: 3,
    connectionName: name,
    publishTimeoutMs: 20_000,
    subscribeTimeoutMs: 20_000,
    ...options,
  });
  opened.push(created);
  return created;
}

/** The node holding the connection a service named `name` opened, from each node's `/connz`. */
async function nodeOf(name: string): Promise<NatsNode> {
  for (const node of cluster.nodes) {
    if (!node.running) continue;
    try {
      const response = await fetch(`http://127.0.0.1:${node.monitorPort}/connz`, {
        signal: AbortSignal.timeout(1_000),
      });
      const connz = (await response.json()) as { connections?: { name?: string }[] };
      if (connz.connections?.some((c) => c.name === name)) return node;
    } catch {
      // A paused node answers nothing: it holds no connection we could use.
    }
  }
  throw new Error(`no node holds the connection ${name}`);
}

/** Reads `count` events within the failover deadline, checking that no gap is reported on the way. */
async function readAll(sub: Subscription<SeqEvent>, count: number): Promise<number[]> {
  const got: number[] = [];
  // One deadline for the whole read, not a wait: each event is awaited as it comes.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, FAILOVER_WAIT_MS, 'late');
  });
  try {
    while (got.length < count) {
      const result = await Promise.race([sub.next(), late]);
      if (result === 'late') throw new Error(`only ${got.length} of ${count} events within ${FAILOVER_WAIT_MS} ms`);
      assert.equal(result.done, false, `the subscription ended after ${got.length} events`);
      got.push(result.value.seq);
      assert.equal(sub.takeGap(), undefined, `no gap (after ${got.length} events)`);
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

/** Publishes `seqs` one after another (so order holds across retries), each confirmed by the stream. */
async function publishInOrder(
  publisher: NatsStreamEventService<SeqEvent>,
  seqs: readonly number[],
  midway?: () => Promise<void>,
): Promise<void> {
  for (const seq of seqs) {
    if (seq === seqs[Math.floor(seqs.length / 3)]) await midway?.();
    await publisher.publishConfirmed({ seq });
  }
}

describe('JetStream backend on a three-node cluster (R3 stream)', { timeout: 5 * CASE_TIMEOUT_MS }, () => {
  for (const fault of ['killed (SIGKILL)', 'restarted (SIGTERM, then started again)', 'partitioned (SIGSTOP)']) {
    it(`the node a subscriber is connected to ${fault} mid-stream: it fails over, nothing lost, no duplicates`, {
      timeout: CASE_TIMEOUT_MS,
    }, async () => {
      const subject = freshTopic();
      const subscriber = service('subscriber', { subject });
      const live = await subscriber.subscribe({ bufferSize: 10_000 });
      const victim = await nodeOf('subscriber');
      // The publisher stays off the victim, so what is tested is the subscriber's failover (and the stream's).
      const publisher = service('publisher', {
        subject,
        natsAddress: cluster.nodes.filter((node) => node !== victim).map((node) => node.url),
      });
      const total = 1_500;
      const reading = readAll(live, total);
      await publishInOrder(publisher, range(0, total), async () => {
        if (fault.startsWith('killed')) await victim.kill();
        else if (fault.startsWith('restarted')) {
          await victim.stop();
          await victim.restart();
        } else victim.pause();
      });
      assert.deepEqual(await reading, range(0, total));
      assert.notEqual(await nodeOf('subscriber'), victim, 'the subscriber moved to another node');
      assert.equal(subscriber.status.state, 'ready');
      assert.equal(publisher.stats.publishFailed, 0);
    });
  }

  it('with no server reachable, publishing is bounded and counted; after the cluster is back nothing confirmed is lost', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const subject = freshTopic();
    const subscriber = service('subscriber', { subject });
    const live = await subscriber.subscribe({ bufferSize: 1_000 });
    const publisher = service('publisher', { subject, publishTimeoutMs: 500, maxPendingPublishes: 10 });
    for (const seq of range(0, 100)) await publisher.publishConfirmed({ seq });
    assert.deepEqual(await readAll(live, 100), range(0, 100));

    await Promise.all(cluster.nodes.map((node) => node.kill()));
    await waitFor('the publisher to see the outage', () => publisher.status.state === 'down', FAILOVER_WAIT_MS);
    await assert.rejects(publisher.publishConfirmed({ seq: -1 }), PublishError);
    for (const seq of range(0, 30)) publisher.publish({ seq: -1 - seq });
    await waitFor('every publish to fail', () => publisher.stats.publishFailed === 31, FAILOVER_WAIT_MS);

    await Promise.all(cluster.nodes.map((node) => node.restart()));
    await cluster.ready();
    await waitFor('the subscriber to be back', () => subscriber.status.state === 'ready', FAILOVER_WAIT_MS);
    // The stream needs a leader again before it acknowledges: publishConfirmed retries (same message ID) until then.
    const again = service('publisher-again', { subject });
    for (const seq of range(100, 200)) await again.publishConfirmed({ seq });
    assert.deepEqual(await readAll(live, 100), range(100, 200), 'no failed publish was stored, nothing else lost');
  });

  it('a slow consumer loses only its own events (counted, reported) and can recover them by resuming', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const subject = freshTopic();
    const events = service('slow', { subject });
    const slow = await events.subscribe({ bufferSize: 10 });
    const fast = await events.subscribe({ bufferSize: 2_000 });
    const publisher = service('publisher', { subject });
    for (const seq of range(0, 1_000)) publisher.publish({ seq });
    assert.deepEqual(await readAll(fast, 1_000), range(0, 1_000));
    assert.equal(slow.dropped, 990);
    assert.deepEqual(
      (await take(slow, 10)).map((e) => e.seq),
      range(0, 10),
    );
    assert.deepEqual(slow.takeGap(), { reason: 'overflow', dropped: 990 });
    const resumed = await events.subscribe({ from: slow.position as string, bufferSize: 64 });
    assert.deepEqual(await readAll(resumed, 990), range(10, 1_000), 'the stream still had them');
  });

  it('1,000 subscriptions on one connection share one consumer; 1,000 replays each get everything', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const subject = freshTopic();
    const events = service('many', { subject });
    const subs = await Promise.all(range(0, 1_000).map(() => events.subscribe({ bufferSize: 100 })));
    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      assert.equal(
        (await jsm.streams.info(events.stream)).state.consumer_count,
        1,
        'one consumer for 1,000 subscriptions',
      );
    } finally {
      await nc.close();
    }
    for (const seq of range(0, 50)) await events.publishConfirmed({ seq });
    for (const sub of subs)
      assert.deepEqual(
        (await take(sub, 50)).map((e) => e.seq),
        range(0, 50),
      );
    const replays = await Promise.all(range(0, 1_000).map(() => events.subscribe({ from: 'oldest', bufferSize: 100 })));
    for (const sub of replays)
      assert.deepEqual(
        (await take(sub, 50)).map((e) => e.seq),
        range(0, 50),
      );
    await waitFor('every replay to catch up', () => replays.every((sub) => !sub.replaying), FAILOVER_WAIT_MS);
    assert.equal(events.liveSubscriptions, 2_000);
    await Promise.all([...subs, ...replays].map((sub) => sub.close()));
    assert.equal(events.liveSubscriptions, 0);
  });
});
