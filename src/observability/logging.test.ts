import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { startRedisServer } from '../../test/support/redis-server.js';
import { freshTopic, take, waitFor } from '../conformance/harness.js';
import { publishIngestEvent } from '../monitor/publish-helpers.js';
import { newIngestEventServiceRedis } from '../monitor/redis-services.js';

const redis = await startRedisServer();

/** A pino logger at `level` that keeps every line it writes, parsed. */
function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

describe('logging', () => {
  const admin = new Redis(redis.url);
  after(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('says what happened and what was done, with the channel, and never logs a payload at info', async () => {
    const { logger, lines } = capturingLogger('info');
    const channel = freshTopic();
    const service = newIngestEventServiceRedis(logger, undefined, { redisAddress: redis.url, redisChannel: channel });
    try {
      const sub = await service.subscribe();
      const marker = 'sip-name-that-must-not-be-logged';
      publishIngestEvent(service, 'ingest_ping_event', { message: marker });
      await take(sub, 1);
      await admin.publish(channel, '{"value":{"type":"from_the_future_event","value":{}}}');
      await admin.client('KILL', 'TYPE', 'pubsub');
      await waitFor('reconnected', () => service.stats.reconnects === 1);
      await waitFor('logs written', () => lines.some((line) => String(line.msg).includes('resubscribing')));

      const skipped = lines.find((line) => String(line.msg).includes('skipped a message'));
      assert.equal(skipped?.channel, channel);
      assert.equal(skipped?.reason, 'unknown-type');
      assert.equal(skipped?.eventType, 'from_the_future_event');
      const lost = lines.find((line) => String(line.msg).includes('connection lost'));
      assert.equal(lost?.channel, channel);
      assert.match(String(lost?.msg), /reconnecting/);
      assert.ok(
        lines.every((line) => !JSON.stringify(line).includes(marker)),
        'no payload in any log line',
      );
    } finally {
      await service.close();
    }
  });

  it('writes nothing to stderr by default, even for garbage and misuse', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => writes.push(String(chunk)) > 0) as typeof process.stderr.write;
    const channel = freshTopic();
    const service = newIngestEventServiceRedis(undefined, undefined, {
      redisAddress: redis.url,
      redisChannel: channel,
    });
    try {
      await service.subscribe();
      await admin.publish(channel, 'garbage');
      await waitFor('garbage counted', () => service.stats.invalid['not-json'] === 1);
      await service.close();
      service.publish({ type: 'ingest_ping_event', value: { message: 'after close' } });
    } finally {
      process.stderr.write = original;
    }
    assert.deepEqual(writes, []);
  });
});
