/**
 * How fast `tidings bridge` copies into JetStream, beside the same bridge
 * copying into a Redis stream: a producer PUBLISHes a burst of BURST events
 * (~300 bytes each) as fast as Redis takes them, and the copy rate is the
 * burst divided by the time until the last one is in the destination (XLEN /
 * the stream's message count). The JetStream sink publishes one message at a
 * time, each expecting its predecessor's sequence (the fence), so its rate is
 * bounded by one acknowledgement round trip per event; the Redis sink writes
 * up to 500 per fenced script call.
 *
 *   npm run bench:bridge-jetstream [-- --rounds N]
 *
 * The bridge runs in this process (the library), on a private redis-server
 * and nats-server; destinations run in interleaved rounds (default 3), each
 * run on a fresh channel and destination; every figure is the median
 * (min–max) over the rounds. A run that stops progressing fails.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { type Bridge, createBridge } from '../src/bridge/bridge.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { startRedisServer } from '../test/support/redis-server.js';
import {
  describeLoad,
  describeSetup,
  failOnStall,
  formatRate,
  interleaved,
  roundsOption,
  spreadOf,
  table,
  watchLoad,
} from './harness.js';

const BURST = 20_000;
const PADDING = 'x'.repeat(280);

type Destination = 'Redis stream' | 'JetStream';
const DESTINATIONS: readonly Destination[] = ['Redis stream', 'JetStream'];

interface RunResult {
  rate: number;
  seconds: number;
}

const rounds = roundsOption(3);
console.log(describeSetup('Tidings bridge into JetStream benchmark'));
console.log(`bursts of ${BURST.toLocaleString('en-US')} events of ~300 bytes, ${rounds} interleaved rounds`);
const [redisServer, natsServer] = await Promise.all([startRedisServer(), startNatsServer()]);
const nc = await connect({ servers: natsServer.url });
const jsm = await jetstreamManager(nc);
const redis = new Redis(redisServer.url);
const load = watchLoad();

async function run(destination: Destination, round: number): Promise<RunResult> {
  const channel = `bench-${destination === 'JetStream' ? 'js' : 'redis'}-${round}`;
  const subject = `bench.bridge.${channel}`;
  const bridge: Bridge = createBridge({
    redisAddress: redisServer.url,
    channel,
    ...(destination === 'JetStream' ? { jetStream: { natsAddress: natsServer.url, subject } } : {}),
  });
  await bridge.start();
  try {
    const deadline = Date.now() + 10_000;
    while (!(bridge.status().role === 'active' && bridge.status().subscribed)) {
      if (Date.now() > deadline) throw new Error(`bridge not active: ${JSON.stringify(bridge.status())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const stored =
      destination === 'JetStream'
        ? async () => (await jsm.streams.info(subject.replaceAll('.', '_'))).state.messages
        : () => redis.xlen(channel);
    let copied = 0;
    const started = performance.now();
    const pipeline = redis.pipeline();
    for (let seq = 0; seq < BURST; seq++) pipeline.publish(channel, JSON.stringify({ seq, pad: PADDING }));
    await pipeline.exec();
    await failOnStall(
      async (signal) => {
        while (copied < BURST && !signal.aborted) {
          copied = await stored();
          if (copied < BURST) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
      () => copied,
      3_000,
      `${destination} round ${round}`,
    );
    const seconds = (performance.now() - started) / 1_000;
    return { rate: BURST / seconds, seconds };
  } finally {
    await bridge.close();
  }
}

try {
  const results = await interleaved(rounds, DESTINATIONS, run, (destination, round, result) =>
    process.stderr.write(`round ${round + 1} ${destination}: ${formatRate(result.rate)} events\n`),
  );
  const of = (destination: Destination): RunResult[] => results.get(destination) ?? [];
  console.log(`\nCopy rate of one bridge, PUBLISH burst → stored in the destination\n`);
  console.log(
    table(
      ['destination', 'events copied', 'burst copied in'],
      DESTINATIONS.map((destination) => [
        destination,
        spreadOf(
          of(destination).map((r) => r.rate),
          formatRate,
        ),
        spreadOf(
          of(destination).map((r) => r.seconds),
          (s) => `${s.toFixed(2)} s`,
        ),
      ]),
    ),
  );
} finally {
  console.log(`\n${describeLoad(load.stop())}`);
  redis.disconnect();
  await nc.close();
  await Promise.allSettled([redisServer.stop(), natsServer.close()]);
}
