/**
 * The NATS test servers are real: a single server with JetStream answers a
 * client, and the three-node cluster routes messages between nodes, survives
 * a killed node and takes it back on restart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { waitFor } from '../../src/conformance/harness.js';
import { type NatsCluster, type NatsServer, startNatsCluster, startNatsServer } from './nats-server.js';

async function routeCount(monitorPort: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/routez`);
  const body = (await response.json()) as { num_routes?: number };
  return body.num_routes ?? 0;
}

/** The kernel's one-letter state of a process (`T` stopped, `S` sleeping, `R` running). */
function processState(pid: number | undefined): string {
  assert.ok(pid !== undefined, 'the node has a process');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

async function roundTrip(publisher: NatsConnection, subscriber: NatsConnection, subject: string): Promise<string> {
  const sub = subscriber.subscribe(subject, { max: 1 });
  await subscriber.flush();
  const received = (async () => {
    for await (const msg of sub) return msg.string();
    throw new Error('subscription ended without a message');
  })();
  // Interest travels between nodes over routes asynchronously: publish until the first copy arrives.
  const timer = setInterval(() => publisher.publish(subject, 'hello'), 20);
  try {
    return await received;
  } finally {
    clearInterval(timer);
  }
}

describe('test/support/nats-server', { timeout: 60_000 }, () => {
  let server: NatsServer | undefined;
  let cluster: NatsCluster | undefined;
  const connections: NatsConnection[] = [];

  before(async () => {
    [server, cluster] = await Promise.all([startNatsServer(), startNatsCluster()]);
  });

  after(async () => {
    await Promise.allSettled(connections.map((nc) => nc.close()));
    await Promise.allSettled([server?.close(), cluster?.close()]);
  });

  test('a single server with JetStream answers a client', async () => {
    assert.ok(server);
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    assert.equal(await roundTrip(nc, nc, 'support.single'), 'hello');
    const varz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as {
      jetstream?: { config?: { store_dir?: string } };
    };
    assert.ok(varz.jetstream?.config?.store_dir, 'JetStream is enabled with a store directory');
  });

  test('the three nodes route to each other, and a killed node comes back on restart', async () => {
    assert.ok(cluster);
    const [n1, n2, n3] = cluster.nodes;
    assert.deepEqual(new Set(cluster.nodes.map((node) => node.name)).size, 3);
    for (const node of cluster.nodes) assert.ok((await routeCount(node.monitorPort)) >= 2, `${node.name} routes`);

    const a = await connect({ servers: n1.url });
    const c = await connect({ servers: n3.url });
    connections.push(a, c);
    assert.equal(await roundTrip(a, c, 'support.cluster.1'), 'hello');

    await n2.kill();
    assert.equal(n2.running, false);
    assert.equal(await roundTrip(a, c, 'support.cluster.2'), 'hello');
    await n2.restart();
    assert.equal(n2.running, true);
    await cluster.ready();
    const b = await connect({ servers: n2.url });
    connections.push(b);
    assert.equal(await roundTrip(b, a, 'support.cluster.3'), 'hello');
  });

  test('JetStream is clustered: a stream with three replicas is placed on all three nodes and takes a publish', async () => {
    assert.ok(cluster);
    const nc = await connect({ servers: cluster.urls });
    connections.push(nc);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: 'SUPPORT_R3', subjects: ['support.r3'], num_replicas: 3 });
    assert.equal(info.config.num_replicas, 3);
    const ack = await jetstream(nc).publish('support.r3', 'one');
    assert.equal(ack.seq, 1);
    const state = await jsm.streams.info('SUPPORT_R3');
    assert.equal(state.state.messages, 1);
    assert.equal((state.cluster?.replicas?.length ?? 0) + 1, 3, 'a leader and two replicas');
    await jsm.streams.delete('SUPPORT_R3');
  });

  test('a paused node stops answering and answers again when resumed', async () => {
    assert.ok(cluster);
    const node = cluster.nodes[2];
    node.pause();
    try {
      // The signal is delivered asynchronously: wait for the kernel to have stopped it.
      await waitFor(
        () => `stopped, is ${processState(node.pid)}`,
        () => processState(node.pid) === 'T',
      );
    } finally {
      node.resume();
    }
    await node.ready();
    assert.notEqual(processState(node.pid), 'T');
  });
});
