// `tidings serve --enduro-config`: the built command reads Redis addresses and
// channels from Enduro's enduro.toml, against a private redis-server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliOptions, cliTestBed, runCli } from '../../test/support/cli-process.js';
import { openSse } from '../../test/support/sse-client.js';

const SAMPLE = readFileSync('test/fixtures/enduro/enduro.toml', 'utf8');
const TOKEN = 'enduro-config-token';
const fixture = (path: string): string => readFileSync(join('test/fixtures', path), 'utf8').trim();

describe('tidings serve --enduro-config (built)', () => {
  const bed = cliTestBed();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-enduro-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Enduro's sample with its Redis sections pointed at `address` and fresh channels. */
  function enduroToml(address: string): { path: string; ingest: string; storage: string } {
    const ingest = `enduro-ingest-${randomUUID()}`;
    const storage = `enduro-storage-${randomUUID()}`;
    const text = SAMPLE.replaceAll('redis://redis.enduro-sdps:6379', address)
      .replace('"enduro-ingest-events"', JSON.stringify(ingest))
      .replace('"enduro-storage-events"', JSON.stringify(storage));
    const path = join(dir, `${randomUUID()}.toml`);
    writeFileSync(path, text);
    return { path, ingest, storage };
  }

  /** Starts serve, publishes one ingest and one storage event on the given channels, and checks both stream out. */
  async function servesFrom(
    args: string[],
    env: Record<string, string>,
    channels: { ingest: string; storage: string },
  ) {
    const options: CliOptions = { env: { TIDINGS_TOKENS: TOKEN, ...env } };
    const serve = bed.running.spawn(['serve', '--port', '0', ...args], options);
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    assert.match(serve.stdout, new RegExp(`backend +redis \\(${channels.ingest}, ${channels.storage}\\)`));
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ingest = await openSse(`${base}/ingest/monitor`, auth);
    const storage = await openSse(`${base}/storage/monitor`, auth);
    await ingest.waitFor((m) => m.length >= 1);
    await storage.waitFor((m) => m.length >= 1);

    const sip = fixture('ingest/sip_updated_event.full.json');
    const aip = fixture('storage/aip_created_event.minimal.json');
    const redis = { TIDINGS_REDIS_URL: bed.redis.url };
    const publishedSip = await runCli(['publish', '--channel', channels.ingest, sip], { env: redis });
    assert.equal(publishedSip.code, 0, publishedSip.stderr);
    const publishedAip = await runCli(['publish', '--stream', 'storage', '--channel', channels.storage, aip], {
      env: redis,
    });
    assert.equal(publishedAip.code, 0, publishedAip.stderr);
    await ingest.waitFor((m) => m.length >= 2);
    await storage.waitFor((m) => m.length >= 2);
    assert.equal(ingest.messages[1]?.data, sip);
    assert.equal(JSON.parse(storage.messages[1]?.data ?? '{}').value.type, 'aip_created_event');

    serve.child.kill('SIGTERM');
    const done = await serve.exited;
    assert.equal(done.code, 0, done.stderr);
    await ingest.ended;
    await storage.ended;
  }

  it("serves the Redis address and channels of [event] and [storage.event] of Enduro's sample", async () => {
    const file = enduroToml(bed.redis.url);
    await servesFrom(['--enduro-config', file.path], {}, file);
  });

  it('ENDURO_* variables override the file as in Enduro; TIDINGS_ENDURO_CONFIG names the file', async () => {
    const file = enduroToml('redis://127.0.0.1:1'); // nothing listens there: only the overrides can make it work
    const channels = { ingest: `env-ingest-${randomUUID()}`, storage: `env-storage-${randomUUID()}` };
    const env = {
      TIDINGS_ENDURO_CONFIG: file.path,
      ENDURO_EVENT_REDISADDRESS: bed.redis.url,
      ENDURO_STORAGE_EVENT_REDISADDRESS: bed.redis.url,
      ENDURO_EVENT_REDISCHANNEL: channels.ingest,
      ENDURO_STORAGE_EVENT_REDISCHANNEL: channels.storage,
    };
    await servesFrom([], env, channels);
  });

  it('--redis and the channel options win over the file', async () => {
    const file = enduroToml('redis://127.0.0.1:1');
    const channels = { ingest: `flag-ingest-${randomUUID()}`, storage: file.storage };
    await servesFrom(
      ['--enduro-config', file.path, '--redis', bed.redis.url, '--ingest-channel', channels.ingest],
      {},
      channels,
    );
  });

  it('an invalid value, a file without addresses, a missing file: exit 1 naming the key or the file', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[event]\nredisAddress = "redis://h:6379"\n[api.auth]\nenabled = "maybe"\n');
    const invalid = await runCli(['serve', '--port', '0', '--enduro-config', bad]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /bad\.toml: api\.auth\.enabled must be true or false, got "maybe"/);

    const partial = join(dir, 'partial.toml');
    writeFileSync(partial, '[event]\nredisAddress = "redis://h:6379"\n');
    const noStorage = await runCli(['serve', '--port', '0', '--enduro-config', partial]);
    assert.equal(noStorage.code, 1);
    assert.match(noStorage.stderr, /partial\.toml sets no storage\.event\.redisAddress: give --redis/);

    const missing = await runCli(['serve', '--port', '0', '--enduro-config', join(dir, 'none.toml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.toml: cannot read the file \(ENOENT\)/);
  });
});
