import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { ChangeWaits } from '../../test/support/change-waits.js';
import {
  GATEWAY_CHILD_TOKEN,
  type GatewayChildReport,
  type GatewayChildStatus,
} from '../../test/support/gateway-child-protocol.js';
import { adminClient, pubsubClientIds } from '../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';

// The probe that found the problem: 100 clients that never read and one that
// does, 1,500 events of 100 KB each published through Redis, Redis with its
// default limit for pub/sub clients. The rate is one a gateway without
// stalled clients sustains with room to spare on a loaded machine.
const EVENTS = 1_500;
/**
 * Events per second: 15 MB/s, under 60% of what the gateway alone took here
 * with the machine loaded (about 26 MB/s). Before the fix the stalled
 * clients made it lose events at 20 MB/s.
 */
const RATE = 150;
const EVENT_BYTES = 100_000;
const STALLED = 100;
/** Events published per round while waiting for the 200 stalled clients to be dropped. */
const ROUND = 200;
/** Peak RSS of the gateway process in the scenario: 160-180 MB measured (110-120 MB of it at start); 440-480 MB before the fix. */
const PEAK_RSS_BOUND = 300 * 1024 * 1024;
/** How far heap plus external memory may stay above where it started once stalled clients are gone. */
const SETTLED_BOUND = 50 * 1024 * 1024;
/**
 * How far RSS may stay above where it started then. Before the fix about
 * 450 MB stayed: not ours (heap plus external came back) but glibc's, which
 * keeps freed memory once large per-client copies have raised its dynamic
 * mmap threshold (with MALLOC_MMAP_THRESHOLD_=131072 it went back to +16 MB).
 */
const SETTLED_RSS_BOUND = 150 * 1024 * 1024;
const MB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const supportScript = (name: string): string => fileURLToPath(new URL(`../../test/support/${name}`, import.meta.url));

/** Publishes `count` big events from seq `first` on, from a child process, at {@link RATE}. */
async function publishBig(redisUrl: string, channel: string, first: number, count: number): Promise<void> {
  const args = [redisUrl, channel, String(first), String(count), String(EVENT_BYTES), String(RATE)];
  const child = fork(supportScript('big-event-publisher.ts'), args, { execArgv: ['--import', 'tsx'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'the publisher failed');
}

/** The gateway in a child process (with `--expose-gc`), asked for its status over IPC. */
class GatewayChild {
  readonly #child: ChildProcess;
  readonly #reports: GatewayChildReport[] = [];
  readonly #changes = new ChangeWaits();

  constructor(redisUrl: string, channel: string) {
    this.#child = fork(supportScript('gateway-child.ts'), [redisUrl, channel], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    });
    this.#child.on('message', (report: GatewayChildReport) => {
      this.#reports.push(report);
      this.#changes.changed();
    });
  }

  async url(): Promise<string> {
    const report = await this.#next('listening', 30_000);
    return report.kind === 'listening' ? report.url : '';
  }

  /** The gateway's status; with `'memory'`, after a full garbage collection. */
  async status(what: 'status' | 'memory' = 'status'): Promise<GatewayChildStatus> {
    this.#child.send(what);
    const report = await this.#next('status', 30_000);
    if (report.kind !== 'status') throw new Error('unexpected report');
    return report;
  }

  /** Asks for the status until `done` holds for it. */
  async statusWhen(done: (status: GatewayChildStatus) => boolean, what: string): Promise<GatewayChildStatus> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await this.status();
      if (done(status)) return status;
      if (Date.now() > deadline) throw new Error(`${what}: not within 60 s; last status ${JSON.stringify(status)}`);
    }
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    if (this.#child.connected) this.#child.send('stop');
    else this.#child.kill();
    await exited;
  }

  #next(kind: GatewayChildReport['kind'], timeoutMs: number): Promise<GatewayChildReport> {
    return this.#changes.until(
      () => {
        const at = this.#reports.findIndex((report) => report.kind === kind);
        return at < 0 ? undefined : this.#reports.splice(at, 1)[0];
      },
      timeoutMs,
      () => `no '${kind}' report from the gateway child within ${timeoutMs} ms`,
    );
  }
}

/** A client that sends its request and then never reads a byte (beyond what the socket takes before it stops). */
async function stalledClient(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    `GET /ingest/monitor HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${GATEWAY_CHILD_TOKEN}\r\n\r\n`,
  );
  return socket;
}

/** A client that reads everything and records the sequence numbers of the events and the gaps it got. */
function readingClient(url: string): {
  seqs: number[];
  gaps: number;
  until(count: number): Promise<void>;
  close(): void;
} {
  const changes = new ChangeWaits();
  const seqs: number[] = [];
  const state = { seqs, gaps: 0, until: (_count: number) => Promise.resolve(), close: () => {} };
  const req = request(`${url}/ingest/monitor`, { headers: { authorization: `Bearer ${GATEWAY_CHILD_TOKEN}` } });
  req.on('error', () => {});
  req.on('response', (res) => {
    res.setEncoding('utf8');
    let pending = '';
    res.on('data', (chunk: string) => {
      pending += chunk;
      const frames = pending.split('\n\n');
      pending = frames.pop() ?? '';
      for (const frame of frames) {
        if (frame.startsWith('event: gap')) state.gaps++;
        const seq = /"name":"(\d+)\|/.exec(frame.slice(0, 300))?.[1];
        if (seq !== undefined) seqs.push(Number(seq));
      }
      changes.changed();
    });
    res.on('error', () => {});
    res.on('close', () => {
      ended = true;
      changes.changed();
    });
  });
  req.end();
  let ended = false;
  state.until = (count) =>
    changes
      .until(
        () => {
          if (seqs.length >= count) return true;
          if (ended) throw new Error(`the gateway ended the reading client's stream after ${seqs.length} events`);
          return undefined;
        },
        60_000,
        () => `the reading client got ${seqs.length} of ${count} events`,
      )
      .then(() => {});
  state.close = () => req.destroy();
  return state;
}

/** A private Redis with its default limit for pub/sub clients, and a gateway child on it; stopped after the test. */
async function scenario(t: TestContext): Promise<{
  redis: RedisServer;
  admin: Redis;
  gateway: GatewayChild;
  url: string;
  port: number;
  channel: string;
  sockets: Socket[];
}> {
  // Spelled out: a subscriber 32 MB behind, or 8 MB behind for a minute, is cut off.
  const redis = await startRedisServer(['--client-output-buffer-limit', 'pubsub 32mb 8mb 60']);
  const admin = adminClient(redis.url);
  const channel = `stalled-${process.pid}-${redis.port}`;
  const gateway = new GatewayChild(redis.url, channel);
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await gateway.stop();
    admin.disconnect();
    await redis.stop();
  });
  const url = await gateway.url();
  return { redis, admin, gateway, url, port: Number(new URL(url).port), channel, sockets };
}

/** Samples the largest output buffer Redis held for a pub/sub client until stopped. */
function sampleSubscriberBacklog(admin: Redis): { stop(): Promise<number> } {
  let peak = 0;
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      for (const match of list.matchAll(/ omem=(\d+)/g)) peak = Math.max(peak, Number(match[1]));
      await new Promise((resolve) => setTimeout(resolve, 20)); // a sampling period, not a wait for a condition
    }
  })();
  return {
    async stop() {
      sampling = false;
      await done;
      return peak;
    },
  };
}

describe('stalled SSE clients, with the gateway in its own process over a real Redis', () => {
  it('drops every stalled client as slow while the reading one gets every event and Redis keeps the gateway', async (t) => {
    const { redis, admin, gateway, url, port, channel, sockets } = await scenario(t);
    const baseline = await gateway.status('memory');
    const reader = readingClient(url);
    for (let n = 0; n < STALLED; n++) sockets.push(await stalledClient(port));
    await gateway.statusWhen((s) => s.openStreams === STALLED + 1, 'all clients streaming');
    const [subscriber] = await pubsubClientIds(admin);
    await gateway.status(); // the event-loop delay reported next covers the publishing only
    const backlog = sampleSubscriberBacklog(admin);

    await publishBig(redis.url, channel, 0, EVENTS);
    const delivered = await reader.until(EVENTS).then(
      () => undefined,
      (error: unknown) => error,
    );
    const redisPeak = await backlog.stop();
    const during = await gateway.status();
    const status =
      delivered === undefined
        ? await gateway.statusWhen((s) => s.openStreams === 1, 'stalled clients dropped')
        : during;
    t.diagnostic(
      `reading client got ${reader.seqs.length}/${EVENTS}; slow clients dropped ${status.slowClients}/${STALLED}; ` +
        `reconnects ${status.reconnects}; Redis' output buffer for the gateway peaked at ${MB(redisPeak)}; ` +
        `gateway RSS ${MB(baseline.memory.rss)} at start, peak ${MB(status.maxRss)}; ` +
        `longest event-loop block while publishing ${during.loopDelayMaxMs.toFixed(0)} ms`,
    );
    if (delivered !== undefined) throw delivered;
    assert.deepEqual(
      reader.seqs,
      Array.from({ length: EVENTS }, (_, seq) => seq),
    );
    assert.equal(reader.gaps, 0, 'the reading client was told it missed events');
    assert.equal(status.slowClients, STALLED);
    assert.equal(status.reconnects, 0, 'Redis cut the gateway off');
    assert.deepEqual(status.redisWarnings, []);
    assert.deepEqual(await pubsubClientIds(admin), [subscriber], 'the subscriber connection changed');
    assert.ok(status.maxRss < PEAK_RSS_BOUND, `peak RSS ${MB(status.maxRss)} over ${MB(PEAK_RSS_BOUND)}`);
    reader.close();
  });

  it('gives back the memory of 200 dropped stalled clients', async (t) => {
    const { redis, gateway, port, channel, sockets } = await scenario(t);
    const baseline = await gateway.status('memory');
    const stalled = 2 * STALLED;
    for (let n = 0; n < stalled; n++) sockets.push(await stalledClient(port));
    await gateway.statusWhen((s) => s.openStreams === stalled, 'stalled clients streaming');
    let seq = 0;
    while ((await gateway.status()).openStreams > 0) {
      assert.ok(seq < EVENTS, `stalled clients still connected after ${seq} events`);
      await publishBig(redis.url, channel, seq, ROUND);
      seq += ROUND;
    }
    for (const socket of sockets.splice(0)) socket.destroy();
    const settled = await gateway.status('memory');
    const held = (s: GatewayChildStatus): number => s.memory.heapUsed + s.memory.external;
    t.diagnostic(
      `after ${seq} events: heap+external ${MB(held(baseline))} -> ${MB(held(settled))}; ` +
        `RSS ${MB(baseline.memory.rss)} -> ${MB(settled.memory.rss)} (peak ${MB(settled.maxRss)})`,
    );
    assert.equal(settled.slowClients, stalled);
    assert.ok(
      held(settled) - held(baseline) < SETTLED_BOUND,
      `heap+external grew from ${MB(held(baseline))} to ${MB(held(settled))}`,
    );
    assert.ok(
      settled.memory.rss - baseline.memory.rss < SETTLED_RSS_BOUND,
      `RSS grew from ${MB(baseline.memory.rss)} to ${MB(settled.memory.rss)}`,
    );
  });
});
