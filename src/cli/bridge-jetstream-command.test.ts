// `tidings bridge --nats` as users run it (the built CLI as child processes),
// on a redis-server and a nats-server this file starts: bad combinations are
// refused, an unreachable NATS fails clearly, and with two bridges on Enduro's
// channel (default subject) while a producer publishes, the active one is
// SIGSTOPped and resumed after its successor took over: the JetStream stream
// holds every copied event once, in order, with one gap record at the window.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { type CliProcess, CliProcesses, ensureBuilt, runCli } from '../../test/support/cli-process.js';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { eventually } from '../../test/support/redis-kit.js';
import { freePort, type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { publishSteadily } from '../../test/support/steady-producer.js';

const CHANNEL = 'enduro-ingest-events';
const STREAM = 'enduro_ingest_events';

type Entry = { kind: 'event'; seq: number } | { kind: 'gap'; bridge: string };

describe('tidings bridge --nats (CLI, real redis-server and nats-server)', { timeout: 60_000 }, () => {
  let redisServer: RedisServer;
  let natsServer: NatsServer;
  let redis: Redis;
  let nc: NatsConnection;
  const running = new CliProcesses();
  before(async () => {
    ensureBuilt();
    [redisServer, natsServer] = await Promise.all([startRedisServer(), startNatsServer()]);
    redis = new Redis(redisServer.url);
    nc = await connect({ servers: natsServer.url });
  });
  after(async () => {
    await running.killAll();
    await nc?.close().catch(() => {});
    redis?.disconnect();
    await Promise.allSettled([redisServer?.stop(), natsServer?.close()]);
  });

  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const done = await runCli(['bridge', '--redis', redisServer.url, '--port', '0', ...args]);
    assert.notEqual(done.code, 0, `exited 0:\n${done.stdout}${done.stderr}`);
    assert.match(done.stderr, message);
    assert.doesNotMatch(done.stderr, /\n\s+at /, 'no stack trace for bad input');
  };

  it('refuses what does not fit together, and an unreachable NATS, without printing its password', async () => {
    await refused(['--channel', 'mine', '--nats', natsServer.url], /bridge --nats needs --subject <subject>/);
    await refused(['--channel', CHANNEL, '--subject', 'a.b'], /--subject is for --nats/);
    await refused(['--channel', CHANNEL, '--nats', natsServer.url, '--stream-key', 's'], /--stream-key names a Redis/);
    await refused(['--channel', 'c', '--nats', natsServer.url, '--subject', 'a.*'], /literal subject/);
    await refused(['--channel', 'c', '--nats', 'http://127.0.0.1:1', '--subject', 'a.b'], /nats|scheme/i);
    const url = `nats://user:s3cr3t-pw@127.0.0.1:${await freePort()}`;
    const done = await runCli([
      'bridge',
      '--redis',
      redisServer.url,
      '--channel',
      'c',
      '--subject',
      'a.b',
      '--nats',
      url,
    ]);
    assert.equal(done.code, 1, done.stderr);
    assert.match(done.stderr, /cannot connect to Redis or NATS/);
    assert.doesNotMatch(done.stdout + done.stderr, /s3cr3t-pw/);
  });

  it('SIGSTOP of the active bridge: its successor marks the window; the frozen one, resumed, appends nothing', async () => {
    const startBridge = async (id: string): Promise<CliProcess> => {
      const cli = running.spawn(['bridge', '--channel', CHANNEL, '--id', id, '--lease-ttl', '600', '--port', '0'], {
        env: { TIDINGS_REDIS_URL: redisServer.url, TIDINGS_BRIDGE_NATS_URL: natsServer.url },
      });
      await cli.waitFor('stdout', /copying channel enduro-ingest-events into JetStream subject enduro\.ingest\.events/);
      return cli;
    };
    const a = await startBridge('A');
    await a.waitFor('stdout', /bridge A: active/);
    const b = await startBridge('B');
    const jsm = await jetstreamManager(nc);
    const messages = async (): Promise<number> => (await jsm.streams.info(STREAM)).state.messages;

    let seq = 0;
    let producing = true;
    const producer = publishSteadily(
      1_000,
      async (n) => {
        seq = n + 1;
        await redis.publish(CHANNEL, JSON.stringify({ seq }));
      },
      { stop: () => !producing },
    );
    try {
      await eventually(
        messages,
        (n) => n >= 200,
        (n) => `A copies: ${n} in the stream`,
      );
      a.child.kill('SIGSTOP');
      await b.waitFor('stdout', /bridge B: active/, 10_000);
      const atTakeover = await messages();
      await eventually(
        messages,
        (n) => n >= atTakeover + 200,
        (n) => `B copies: ${n} in the stream`,
      );
      a.child.kill('SIGCONT');
      await a.waitFor('stdout', /bridge A: standby/, 10_000);
      const afterWake = await messages();
      await eventually(
        messages,
        (n) => n >= afterWake + 200,
        (n) => `B keeps copying: ${n} in the stream`,
      );
    } finally {
      producing = false;
      await producer;
    }
    const last = seq;
    await eventually(
      async () => (await jsm.streams.getMessage(STREAM, { last_by_subj: 'enduro.ingest.events' }))?.string(),
      (text) => text === JSON.stringify({ seq: last }),
      (text) => `the last event (${last}) arrives, last is ${text}`,
    );
    const { state } = await jsm.streams.info(STREAM);
    const entries: Entry[] = [];
    for (let s = state.first_seq; s <= state.last_seq; s++) {
      const msg = await jsm.streams.getMessage(STREAM, { seq: s });
      assert.ok(msg !== null, `message ${s}`);
      const gap = msg.header?.get('Tidings-Gap');
      if (gap) {
        assert.equal(msg.data.length, 0, 'a gap record has an empty body');
        entries.push({ kind: 'gap', bridge: (JSON.parse(gap) as { bridge: string }).bridge });
      } else entries.push({ kind: 'event', seq: (JSON.parse(msg.string()) as { seq: number }).seq });
    }
    const seqs = entries.flatMap((entry) => (entry.kind === 'event' ? [entry.seq] : []));
    assert.equal(new Set(seqs).size, seqs.length, 'no event appears twice');
    assert.deepEqual(
      entries.flatMap((entry) => (entry.kind === 'gap' ? [entry.bridge] : [])),
      ['B'],
      'one gap record, by the bridge that took over',
    );
    for (const [at, entry] of entries.entries()) {
      const previous = entries[at - 1];
      if (entry.kind === 'event' && previous?.kind === 'event') {
        assert.equal(entry.seq, previous.seq + 1, `contiguous run at stream message ${state.first_seq + at}`);
      }
    }
    assert.equal(seqs.at(-1), last);
    console.log(`# ${seqs.length} of ${last} events copied; ${/bridge A: standby \(.*\)/.exec(a.stdout)?.[0]}`);
    for (const cli of [a, b]) cli.child.kill('SIGTERM');
    for (const cli of [a, b]) assert.equal((await cli.finished()).code, 0);
  });
});
