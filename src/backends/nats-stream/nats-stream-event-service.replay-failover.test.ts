import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type NatsNode, startNatsCluster } from '../../../test/support/nats-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, range } from '../../conformance/harness.js';
import { createNatsStreamEventService, type NatsStreamEventService } from './nats-stream-event-service.js';

/** The case's deadline: a failover waits for missed pings and leader elections, never longer. */
const CASE_TIMEOUT_MS = 60_000;

const cluster = await startNatsCluster();
after(() => cluster.close());

function service(name: string, subject: string): NatsStreamEventService<SeqEvent> {
  return createNatsStreamEventService<SeqEvent>({
    natsAddress: cluster.urls,
    subject,
    codec: seqCodec,
    replicas: 3,
    connectionName: name,
    publishTimeoutMs: 20_000,
    subscribeTimeoutMs: 20_000,
  });
}

async function nodeOf(name: string): Promise<NatsNode> {
  for (const node of cluster.nodes) {
    if (!node.running) continue;
    const response = await fetch(`http://127.0.0.1:${node.monitorPort}/connz`, { signal: AbortSignal.timeout(1_000) });
    const connz = (await response.json()) as { connections?: { name?: string }[] };
    if (connz.connections?.some((c) => c.name === name)) return node;
  }
  throw new Error(`no node holds the connection ${name}`);
}

describe('JetStream backend on a three-node cluster: a replay across a failover', () => {
  it('the node a replaying subscription reads through is killed: the replay resumes where it was, nothing lost, nothing twice', {
    timeout: CASE_TIMEOUT_MS,
  }, async () => {
    const subject = freshTopic();
    const publisher = service('publisher', subject);
    const reader = service('reader', subject);
    try {
      for (const seq of range(0, 3_000)) publisher.publish({ seq });
      await publisher.publishConfirmed({ seq: 3_000 });
      // A small buffer: the replay reads in many pages, so the kill lands in the middle of it.
      const sub = await reader.subscribe({ from: 'oldest', bufferSize: 32 });
      const victim = await nodeOf('reader');
      const got: number[] = [];
      for await (const event of sub) {
        got.push(event.seq);
        assert.equal(sub.takeGap(), undefined, `no gap (after ${got.length} events)`);
        if (got.length === 500) {
          assert.equal(sub.replaying, true, 'the kill lands in the middle of the replay');
          await victim.kill();
        }
        if (got.length === 3_001) break;
      }
      assert.deepEqual(got, range(0, 3_001));
      assert.notEqual(await nodeOf('reader'), victim);
      assert.ok(reader.stats.reconnects >= 1, 'the reader reconnected');
    } finally {
      await Promise.all([publisher.close(), reader.close()]);
    }
  });
});
