// Two gateway processes over one Redis stream: a client streaming from one,
// which is then killed while a producer publishes, reconnects to the other
// with its Last-Event-ID and loses nothing published before, during or after.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GATEWAY_CHILD_TOKEN } from '../../test/support/gateway-child-protocol.js';
import { startRedisServer } from '../../test/support/redis-server.js';
import { type StreamOutcome, streamOnce } from '../../test/support/resume-client.js';
import { readIngest, seqEvent } from '../../test/support/seq-monitor-events.js';
import { publishSteadily } from '../../test/support/steady-producer.js';
import { waitFor } from '../conformance/harness.js';
import { newIngestEventServiceRedisStream } from '../monitor/redis-stream-services.js';

const EVENTS = 3_000;
/** Events the client reads from gateway A before A is killed. */
const BEFORE_KILL = 1_000;
/** Events published after the kill and before the client reconnects to B. */
const DURING = 300;
/** Events per second the producer publishes. */
const RATE = 1_000;
const DEADLINE_MS = 45_000;
const childScript = fileURLToPath(new URL('../../test/support/stream-gateway-child.ts', import.meta.url));

interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startGateway(redisUrl: string, streamKey: string, children: ChildProcess[]): Promise<GatewayProcess> {
  const child = fork(childScript, [redisUrl, streamKey], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  children.push(child);
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error('the gateway child exited before listening');
    }),
  ])) as [{ kind: string; url: string }];
  assert.equal(message.kind, 'listening');
  return { child, url: `${message.url}/ingest/monitor` };
}

/** Kills every child still running and waits for each to exit. */
async function killAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL'); // cannot be ignored: the exit comes, within the test's deadline
      await exited;
    }),
  );
}

describe('two gateways over one Redis stream', () => {
  it('a client of a killed gateway resumes on the other with Last-Event-ID and loses nothing', {
    timeout: DEADLINE_MS + 15_000,
  }, async (t) => {
    const redis = await startRedisServer();
    const children: ChildProcess[] = [];
    const streamKey = 'failover-ingest-events';
    const producer = newIngestEventServiceRedisStream(undefined, undefined, { redisAddress: redis.url, streamKey });
    let published = 0;
    let stopPublishing = false;
    try {
      const [a, b] = await Promise.all([
        startGateway(redis.url, streamKey, children),
        startGateway(redis.url, streamKey, children),
      ]);
      const auth = { authorization: `Bearer ${GATEWAY_CHILD_TOKEN}` };
      const received: number[] = [];
      let gaps = 0;
      let helloFromA = false;
      const onFrame = (frame: { event: string; data: string; id: string | undefined; retry: number | undefined }) => {
        if (frame.event === 'gap') gaps++;
        if (frame.event !== 'message') return undefined;
        const { type, seq } = readIngest(frame);
        if (type === 'ingest_ping_event') helloFromA = true;
        if (seq !== undefined) received.push(seq);
        return received.length === EVENTS ? ('cut' as const) : undefined;
      };

      // 1. Streaming from A; the producer starts once A's stream is open.
      const fromA: Promise<StreamOutcome> = streamOnce(a.url, { headers: auth, onFrame });
      await waitFor('the hello from gateway A', () => helloFromA);
      const publishing = publishSteadily(
        RATE,
        (seq) => {
          producer.publish(seqEvent(seq));
          published = seq + 1;
        },
        { count: EVENTS, stop: () => stopPublishing },
      );

      // 2. A dies mid-stream while the producer keeps publishing.
      await waitFor('events from A', () => received.length >= BEFORE_KILL, DEADLINE_MS);
      const killedAt = published;
      a.child.kill('SIGKILL');
      const outcomeA = await fromA;
      assert.equal(outcomeA.cut, false, 'A ended the stream (it died), not the client');
      const lastId = outcomeA.lastId;
      assert.match(lastId ?? '', /^rs\./, 'a Redis Streams position: the same in every gateway on the stream');
      const fromAOnly = received.length;
      await waitFor('events published while the client is away', () => published >= killedAt + DURING, DEADLINE_MS);
      const publishedAtReconnect = published;

      // 3. The client reconnects to B with its Last-Event-ID.
      const outcomeB = await streamOnce(b.url, { headers: auth, lastId, onFrame });
      assert.equal(outcomeB.status, 200);
      await publishing;

      const line =
        `failover: ${fromAOnly} events from A (killed after ${killedAt} published), ` +
        `${received.length - fromAOnly} from B of which ${Math.max(0, publishedAtReconnect - fromAOnly)} published before the reconnect; gaps ${gaps}`;
      t.diagnostic(line);
      console.log(line);
      assert.ok(fromAOnly >= BEFORE_KILL);
      assert.ok(publishedAtReconnect - fromAOnly >= DURING, 'events were published while the client was away');
      assert.equal(gaps, 0);
      assert.deepEqual(
        received,
        Array.from({ length: EVENTS }, (_, seq) => seq),
        'exactly the published sequence: before, during and after the failover',
      );
    } finally {
      stopPublishing = true;
      await killAll(children);
      await producer.close();
      await redis.stop();
    }
  });
});
