import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { useRedisServer } from '../../../test/support/redis-fixture.js';
import { freshTopic, waitFor } from '../../conformance/harness.js';
import { newIngestEventServiceRedis } from '../../monitor/redis-services.js';

/** A pino logger that keeps every line it writes, raw. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const invalidTotal = (invalid: Record<string, number>): number => Object.values(invalid).reduce((a, b) => a + b, 0);

describe('logs an attacker on the channel cannot flood', () => {
  const redis = useRedisServer();
  /** An ingest service on a fresh channel, subscribed, logging into `lines`. */
  const subscribedService = async () => {
    const { logger, lines } = capturingLogger();
    const channel = freshTopic();
    const service = newIngestEventServiceRedis(logger, undefined, {
      redisAddress: redis.server.url,
      redisChannel: channel,
    });
    await service.subscribe();
    return { service, channel, lines, admin: redis.admin };
  };

  it('logs the first invalid messages of an interval, then one summary with counts per reason', async (t) => {
    const { service, channel, lines, admin } = await subscribedService();
    try {
      const garbage = [
        'not json {',
        '{"nothing":"here"}',
        '{"value":{"type":"from_the_future_event","value":{}}}',
        '{"value":{"type":"sip_created_event","value":{"item":{"uuid":42}}}}',
      ];
      const sent = 2_000;
      const burst = admin.pipeline();
      for (let i = 0; i < sent; i++) burst.publish(channel, garbage[i % garbage.length] as string);
      await burst.exec();
      await waitFor('every message counted', () => invalidTotal(service.stats.invalid) === sent);
      const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const summaries = () => parsed().filter((line) => line.suppressed !== undefined);
      // The summary of the interval the flood ended in comes when that interval ends.
      const summarised = () =>
        summaries().reduce((n, line) => n + invalidTotal(line.suppressed as Record<string, number>), 0);
      const single = () => parsed().filter((line) => String(line.msg).startsWith('skipped a message'));
      await waitFor(
        () => `every invalid message logged or summarised: ${single().length} + ${summarised()} of ${sent}`,
        () => single().length + summarised() === sent,
      );
      t.diagnostic(`${sent} invalid messages: ${single().length} lines one by one, ${summaries().length} summaries`);
      assert.ok(summaries().length >= 1, 'at least one summary');
      assert.ok(
        single().length <= 5 * (summaries().length + 1),
        `${single().length} lines in ${summaries().length + 1} intervals`,
      );
      const bySummary: Record<string, number> = {};
      for (const line of summaries()) {
        assert.equal(line.channel, channel);
        assert.equal(line.level, 40, 'a warning');
        for (const [reason, n] of Object.entries(line.suppressed as Record<string, number>)) {
          bySummary[reason] = (bySummary[reason] ?? 0) + n;
        }
      }
      for (const line of single()) bySummary[String(line.reason)] = (bySummary[String(line.reason)] ?? 0) + 1;
      assert.deepEqual(bySummary, service.stats.invalid, 'per reason, every message is in the log exactly once');
    } finally {
      await service.close();
    }
  });

  it('caps every logged value: a 5 MB event type makes a short line', async (t) => {
    const { service, channel, lines, admin } = await subscribedService();
    try {
      const huge = `${'x'.repeat(5 * 1024 * 1024)}_event`;
      await admin.publish(channel, JSON.stringify({ value: { type: huge, value: {} } }));
      await admin.publish(channel, JSON.stringify({ value: { type: 'sip_created_event', value: { item: huge } } }));
      await admin.publish(channel, `{"value":${huge}`);
      await waitFor('all three skipped', () => invalidTotal(service.stats.invalid) === 3);
      await waitFor('all three logged', () => lines.filter((line) => line.includes('skipped a message')).length === 3);
      t.diagnostic(`longest log line: ${Math.max(...lines.map((line) => line.length))} characters`);
      for (const line of lines) assert.ok(line.length < 4_096, `a ${line.length}-character log line`);
      const unknown = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.eventType);
      assert.match(String(unknown?.eventType), /^x{300}…\[5242886 chars\]$/, 'cut, with the original length');
    } finally {
      await service.close();
    }
  });
});
