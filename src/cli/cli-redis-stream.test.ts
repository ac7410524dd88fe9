// `tidings serve|tail --redis-stream`, built and spawned, against a private redis-server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { cliTestBed, runCli } from '../../test/support/cli-process.js';
import { adminClient } from '../../test/support/redis-kit.js';
import { openSse } from '../../test/support/sse-client.js';

const fixture = (path: string): string => readFileSync(join('test/fixtures', path), 'utf8').trim();
const status = (uuid: string): string =>
  `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${uuid}","status":"ingested"}}}`;

describe('tidings CLI on Redis Streams (built)', () => {
  const bed = cliTestBed();
  let admin: Redis;
  before(() => {
    admin = adminClient(bed.redis.url);
  });
  after(() => admin?.disconnect());

  it('tail --from oldest prints what the stream retains, then live entries; a later tail resumes from the printed position', async () => {
    const key = `cli-stream-${randomUUID()}`;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await admin.xadd(key, '*', 'm', status(a));
    await admin.xadd(key, '*', 'm', status(b));
    const env = { TIDINGS_REDIS_STREAM: bed.redis.url };
    const tail = bed.running.spawn(['tail', '--channel', key, '--json', '--from', 'oldest'], { env });
    await tail.waitFor('stderr', /tailing/);
    await tail.waitFor('stdout', /(.*\n){2}/);
    await admin.xadd(key, '*', 'm', status(c));
    await tail.waitFor('stdout', /(.*\n){3}/);
    assert.equal(tail.stdout, `${status(a)}\n${status(b)}\n${status(c)}\n`);
    tail.child.kill('SIGINT');
    const done = await tail.exited;
    assert.equal(done.code, 0, done.stderr);
    const position = /resume with --from ([^\s)]+)/.exec(done.stderr)?.[1];
    assert.ok(position !== undefined, done.stderr);

    const d = randomUUID();
    await admin.xadd(key, '*', 'm', status(d));
    const resumed = bed.running.spawn(['tail', '--channel', key, '--json', '--from', position], { env });
    await resumed.waitFor('stdout', /\n/);
    assert.equal(resumed.stdout, `${status(d)}\n`, 'only what came after the position');
    resumed.child.kill('SIGINT');
    assert.equal((await resumed.exited).code, 0);
  });

  it('serve --redis-stream streams the stream keys named by the channel options', async () => {
    const ingestKey = `cli-serve-stream-${randomUUID()}`;
    const env = {
      TIDINGS_TOKENS: 'stream-token',
      TIDINGS_INGEST_CHANNEL: ingestKey,
      TIDINGS_STORAGE_CHANNEL: `cli-serve-stream-${randomUUID()}`,
    };
    const serve = bed.running.spawn(['serve', '--redis-stream', bed.redis.url, '--port', '0'], { env });
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    assert.match(serve.stdout, /backend +redis streams \(/);
    const ingest = await openSse(`${base}/ingest/monitor`, { authorization: 'Bearer stream-token' });
    await ingest.waitFor((m) => m.length >= 1);
    const sip = fixture('ingest/sip_updated_event.full.json');
    await admin.xadd(ingestKey, '*', 'm', sip);
    await ingest.waitFor((m) => m.some((message) => message.data === sip));
    serve.child.kill('SIGTERM');
    const done = await serve.exited;
    assert.equal(done.code, 0, done.stderr);
    await ingest.ended;
  });

  it('refuses contradicting backends and --from without a stream, with a clear message', async () => {
    const both = await runCli(['serve', '--redis', bed.redis.url, '--redis-stream', bed.redis.url]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--redis-stream and --redis name different backends: choose one/);
    const tailBoth = await runCli(['tail', '--redis', bed.redis.url, '--redis-stream', bed.redis.url]);
    assert.equal(tailBoth.code, 1);
    assert.match(tailBoth.stderr, /choose one/);
    const fromPubsub = await runCli(['tail', '--redis', bed.redis.url, '--from', 'oldest']);
    assert.equal(fromPubsub.code, 1);
    assert.match(fromPubsub.stderr, /--from needs --redis-stream/);
    const garbage = await runCli(['tail', '--redis-stream', bed.redis.url, '--from', 'yesterday']);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /cannot subscribe/);
    assert.match(garbage.stderr, /not a position/);
  });
});
