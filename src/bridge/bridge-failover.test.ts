// Two `tidings bridge` processes on one channel while a producer publishes
// steadily, on a redis-server this file starts: the active one is SIGKILLed,
// later its successor is SIGSTOPped (and resumed after the takeover). The
// stream, read raw with XRANGE, must hold every event published while a bridge
// was active exactly once, in order, and one gap record for each window with
// none, where it happened.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type CliProcess, CliProcesses, ensureBuilt } from '../../test/support/cli-process.js';
import { eventually } from '../../test/support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { publishSteadily } from '../../test/support/steady-producer.js';

const LEASE_TTL_MS = 1_000;
/** What the README states: the lease expires, then a standby's next try (every ttl/3) takes it. */
const STATED_TAKEOVER_MS = (LEASE_TTL_MS * 4) / 3;
/** Room for a SUBSCRIBE and for a machine shared with other work; a takeover past this is a bug. */
const TAKEOVER_SLACK_MS = 2_000;

interface Published {
  readonly seq: number;
  readonly at: number;
}

/** Publishes `{"seq":n}` about `perSecond` times a second, in small bursts, until stopped. */
class Producer {
  readonly published: Published[] = [];
  #running = true;
  readonly #done: Promise<number>;

  readonly #redis: Redis;

  constructor(url: string, channel: string, perSecond: number) {
    const redis = new Redis(url);
    this.#redis = redis;
    this.#done = publishSteadily(
      perSecond,
      async (n) => {
        const seq = n + 1;
        this.published.push({ seq, at: Date.now() });
        await redis.publish(channel, JSON.stringify({ seq }));
      },
      { stop: () => !this.#running },
    );
  }

  get last(): number {
    return this.published.length;
  }

  async stop(): Promise<void> {
    this.#running = false;
    try {
      await this.#done;
    } finally {
      this.#redis.disconnect();
    }
  }
}

type Entry = { id: string; time: number } & (
  | { kind: 'event'; seq: number }
  | { kind: 'gap'; bridge: string; since: number; until: number }
);

function parseEntries(raw: [string, string[]][]): Entry[] {
  return raw.map(([id, fields]) => {
    const time = Number(id.split('-')[0]);
    assert.equal(fields.length, 2, `entry ${id} has one field: ${JSON.stringify(fields)}`);
    const [field, value] = fields as [string, string];
    if (field === 'm') return { id, time, kind: 'event', seq: (JSON.parse(value) as { seq: number }).seq };
    assert.equal(field, 'gap', `entry ${id} is an event or a gap record`);
    const gap = JSON.parse(value) as { bridge: string; since: string; until: string };
    assert.deepEqual(Object.keys(gap), ['bridge', 'since', 'until']);
    return {
      id,
      time,
      kind: 'gap',
      bridge: gap.bridge,
      since: Date.parse(gap.since),
      until: Date.parse(gap.until),
    };
  });
}

async function readyz(url: string): Promise<{ role: string; subscribed: boolean; ready: boolean }> {
  const response = await fetch(`${url}/readyz`);
  return (await response.json()) as { role: string; subscribed: boolean; ready: boolean };
}

describe('tidings bridge failover (two bridge processes, real redis-server)', { timeout: 60_000 }, () => {
  let server: RedisServer;
  let redis: Redis;
  const running = new CliProcesses();
  before(async () => {
    ensureBuilt();
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  after(async () => {
    await running.killAll();
    redis?.disconnect();
    await server?.stop();
  });

  const startBridge = async (id: string): Promise<{ cli: CliProcess; url: string }> => {
    const cli = running.spawn([
      'bridge',
      '--redis',
      server.url,
      '--channel',
      'failover-events',
      '--id',
      id,
      '--lease-ttl',
      String(LEASE_TTL_MS),
      '--port',
      '0',
    ]);
    const [, url] = (await cli.waitFor('stdout', /health on (http:\/\/\S+)\/readyz/)) as unknown as [string, string];
    return { cli, url };
  };

  it('SIGKILL and SIGSTOP of the active bridge: every event copied exactly once, one gap record per window', async () => {
    const a = await startBridge('A');
    await a.cli.waitFor('stdout', /bridge A: active/);
    await eventually(
      () => readyz(a.url),
      (status) => status.ready && status.subscribed,
      (status) => `A never subscribed: ${JSON.stringify(status)}`,
    );
    const b = await startBridge('B');
    assert.deepEqual((await readyz(b.url)).role, 'standby');

    const producer = new Producer(server.url, 'failover-events', 1_000);
    const streamHas = (what: string, check: (entries: Entry[]) => boolean, timeoutMs = 20_000) =>
      eventually(
        async () => parseEntries(await redis.xrange('failover-events', '-', '+')),
        check,
        (entries) => `${what}; stream has ${entries.length} entries, published ${producer.last}`,
        timeoutMs,
      );
    const eventsAfterGaps = (entries: Entry[], gaps: number, events: number): boolean => {
      const lastGap = entries.map((entry) => entry.kind).lastIndexOf('gap');
      const gapCount = entries.filter((entry) => entry.kind === 'gap').length;
      return gapCount === gaps && entries.length - 1 - lastGap >= events;
    };
    try {
      await streamHas('A copies', (entries) => eventsAfterGaps(entries, 0, 500));

      // 1. The active bridge dies at once.
      const killedAt = Date.now();
      a.cli.child.kill('SIGKILL');
      await b.cli.waitFor('stdout', /bridge B: active/, 10_000);
      await streamHas('B copies after its gap record', (entries) => eventsAfterGaps(entries, 1, 500));

      // 2. A new standby joins; the active one (B) hangs, and wakes up after C took over.
      const c = await startBridge('C');
      assert.equal((await readyz(c.url)).role, 'standby');
      const stoppedAt = Date.now();
      b.cli.child.kill('SIGSTOP');
      await c.cli.waitFor('stdout', /bridge C: active/, 10_000);
      await streamHas('C copies after its gap record', (entries) => eventsAfterGaps(entries, 2, 300));
      b.cli.child.kill('SIGCONT');
      await b.cli.waitFor('stdout', /bridge B: standby/, 10_000);
      assert.equal((await readyz(b.url)).role, 'standby');
      await streamHas('C keeps copying after B woke up', (entries) => eventsAfterGaps(entries, 2, 600));
      await producer.stop();
      const lastSeq = producer.last;
      await streamHas(`the last event (${lastSeq}) arrives`, (entries) =>
        entries.some((entry) => entry.kind === 'event' && entry.seq === lastSeq),
      );

      // The whole stream, checked.
      const entries = parseEntries(await redis.xrange('failover-events', '-', '+'));
      const seqs = entries.flatMap((entry) => (entry.kind === 'event' ? [entry.seq] : []));
      assert.equal(new Set(seqs).size, seqs.length, 'no event appears twice');
      const gaps = entries.flatMap((entry, at) => (entry.kind === 'gap' ? [{ ...entry, at }] : []));
      assert.deepEqual(
        gaps.map((gap) => gap.bridge),
        ['B', 'C'],
        'one gap record per failover, by the bridge that took over',
      );
      assert.equal(seqs[0], 1, 'A copied from the first event (it was subscribed before the producer started)');
      assert.equal(seqs.at(-1), lastSeq);
      // Runs between gap records are contiguous; what is missing lies at a gap record, published before its `until`.
      const report: string[] = [];
      let previous: Entry | undefined;
      for (const [at, entry] of entries.entries()) {
        if (entry.kind === 'event' && previous?.kind === 'event') {
          assert.equal(entry.seq, previous.seq + 1, `contiguous run at entry ${at}`);
        }
        if (entry.kind === 'gap') {
          assert.equal(previous?.kind, 'event', 'a gap record follows copied events');
          const next = entries[at + 1];
          assert.equal(next?.kind, 'event', 'a gap record is followed by copied events');
          if (previous?.kind !== 'event' || next?.kind !== 'event') break;
          const before = previous;
          assert.ok(next.seq > before.seq, 'the order of events holds across the gap');
          const missing = producer.published.filter((p) => p.seq > before.seq && p.seq < next.seq);
          for (const event of missing) {
            assert.ok(event.at <= entry.until, `event ${event.seq} missing but published after the gap ended`);
          }
          assert.ok(entry.since <= entry.until, 'since <= until');
          assert.equal(entry.since, previous.time, 'since is the time of the last copied entry');
          const failedAt = entry.bridge === 'B' ? killedAt : stoppedAt;
          const takeover = entry.until - failedAt;
          report.push(
            `${entry.bridge === 'B' ? 'SIGKILL A' : 'SIGSTOP B'}: ${entry.bridge} took over ${takeover} ms after, ` +
              `${missing.length} events in the window (seq ${before.seq + 1}..${next.seq - 1}), window ${entry.until - entry.since} ms`,
          );
          assert.ok(
            takeover <= STATED_TAKEOVER_MS + TAKEOVER_SLACK_MS,
            `takeover ${takeover} ms within ${STATED_TAKEOVER_MS} ms stated + ${TAKEOVER_SLACK_MS} ms`,
          );
        }
        previous = entry;
      }
      report.push(`${seqs.length} of ${lastSeq} events copied, ${lastSeq - seqs.length} in the 2 windows`);
      for (const line of report) console.log(`# ${line}`);
      const bStatus = (await (await fetch(`${b.url}/readyz`)).json()) as { discarded: number; copied: number };
      assert.ok(bStatus.copied > 0, 'B copied while it was active');
    } finally {
      await producer.stop();
    }
  });
});
