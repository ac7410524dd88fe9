// The built `tidings` command, spawned as users run it (node dist/cli/main.js),
// against a private redis-server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type CliOptions, type CliProcess, cliTestBed, type Finished, runCli } from '../../test/support/cli-process.js';
import { openSse, until } from '../../test/support/sse-client.js';

const fixture = (path: string): string => readFileSync(join('test/fixtures', path), 'utf8').trim();

const run = (args: string[], options?: CliOptions): Promise<Finished> => runCli(args, options);

describe('tidings CLI (built)', () => {
  const bed = cliTestBed();
  const { running } = bed;
  const spawnCli = (args: string[], options?: CliOptions): CliProcess => running.spawn(args, options);

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['tail', '--help'], ['publish', '--help']]) {
      const { code, stdout } = await run(args);
      assert.equal(code, 0, args.join(' '));
      assert.match(stdout, /Usage: tidings/);
    }
    assert.match((await run(['serve', '--help'])).stdout, /TIDINGS_TOKENS/);
  });

  it('publish of a fixture reaches a tail on Redis, as a line and as JSON; Ctrl-C ends tail cleanly', async () => {
    const channel = `cli-ingest-${randomUUID()}`;
    const env = { TIDINGS_REDIS_URL: bed.redis.url };
    const lines = spawnCli(['tail', '--channel', channel], { env });
    const json = spawnCli(['tail', '--channel', channel, '--json', '--type', 'sip_created_event'], { env });
    await lines.waitFor('stderr', /tailing/);
    await json.waitFor('stderr', /tailing/);

    const status = `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${randomUUID()}","status":"ingested"}}}`;
    const first = await run(['publish', '--channel', channel, status], { env });
    assert.equal(first.code, 0, first.stderr);
    const text = fixture('ingest/sip_created_event.full.json');
    const second = await run(['publish', '--channel', channel], { env, stdin: text });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`published sip_created_event to ${channel} \\(2 receivers\\)`));

    await lines.waitFor('stdout', /sip_created_event .*"accession-2024-0187\.zip" status=failed/);
    assert.match(lines.stdout, /^sip_status_updated_event +sip [0-9a-f-]{36} status=ingested$/m);
    // --type kept only the created event; --json printed its exact wire text.
    await json.waitFor('stdout', /\n/);
    assert.equal(json.stdout, `${text}\n`);

    lines.child.kill('SIGINT');
    json.child.kill('SIGINT');
    assert.equal((await lines.exited).code, 0);
    assert.equal((await json.exited).code, 0);
  });

  it('an invalid publish exits non-zero with the codec reason and publishes nothing', async () => {
    const channel = `cli-invalid-${randomUUID()}`;
    const env = { TIDINGS_REDIS_URL: bed.redis.url };
    const tail = spawnCli(['tail', '--channel', channel, '--json'], { env });
    await tail.waitFor('stderr', /tailing/);

    const bad = `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${randomUUID()}","status":"archived"}}}`;
    const invalid = await run(['publish', '--channel', channel, bad], { env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /invalid event \(invalid-payload at \/value\/value\/status\)/);
    assert.match(invalid.stderr, /nothing was published/);

    const notJson = await run(['publish', '--channel', channel, '{"value":'], { env });
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /invalid event \(not-json/);

    const unknown = await run(['publish', '--channel', channel, '{"value":{"type":"sip_exploded_event","value":{}}}'], {
      env,
    });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown-type/);

    // The next valid event is the first the tail sees.
    const ok = fixture('ingest/sip_status_updated_event.minimal.json');
    assert.equal((await run(['publish', '--channel', channel, ok], { env })).code, 0);
    await tail.waitFor('stdout', /\n/);
    assert.equal(tail.stdout, `${ok}\n`);
    tail.child.kill('SIGINT');
    assert.equal((await tail.exited).code, 0);
  });

  it('tail prints hostile event text as escapes on one line: no terminal escape, no forged line', async () => {
    const channel = `cli-hostile-${randomUUID()}`;
    const env = { TIDINGS_REDIS_URL: bed.redis.url };
    const tail = spawnCli(['tail', '--channel', channel], { env });
    await tail.waitFor('stderr', /tailing/);
    const name =
      'x\u001b]0;owned\u0007\u001b[2J\r\nsip_status_updated_event     sip forged status=ingested\u2028\u202e';
    const event = JSON.parse(fixture('ingest/sip_created_event.minimal.json'));
    event.value.value.uuid = 'not\r\na uuid';
    event.value.value.item.name = name;
    const published = await run(['publish', '--channel', channel, JSON.stringify(event)], { env });
    assert.equal(published.code, 0, published.stderr);
    await tail.waitFor('stdout', /\n/);
    assert.equal(tail.stdout.split('\n').length, 2, tail.stdout);
    // The whole output, matched exactly: every control, separator and override is an escape of visible characters.
    assert.match(
      tail.stdout,
      /^sip_created_event +sip "not\\r\\na uuid" "x\\u001b\]0;owned\\u0007\\u001b\[2J\\r\\nsip_status_updated_event {5}sip forged status=ingested\\u2028\\u202e" status=queued\n$/,
    );
    tail.child.kill('SIGINT');
    assert.equal((await tail.exited).code, 0);
  });

  it('storage events are tailed without location credentials', async () => {
    const channel = `cli-storage-${randomUUID()}`;
    const env = { TIDINGS_REDIS_URL: bed.redis.url };
    const tail = spawnCli(['tail', '--stream', 'storage', '--channel', channel, '--json'], { env });
    await tail.waitFor('stderr', /tailing/);
    const published = await run(
      ['publish', '--channel', channel, fixture('storage/location_created_event.full.json')],
      {
        env,
      },
    );
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /published location_created_event/);
    await tail.waitFor('stdout', /\n/);
    assert.match(tail.stdout, /"bucket":"aips"/);
    for (const secret of ['s3-secret-value', 'AKIAEXAMPLE', 'session-token-value']) {
      assert.ok(!tail.stdout.includes(secret), `tail printed ${secret}`);
    }
    tail.child.kill('SIGINT');
    assert.equal((await tail.exited).code, 0);
  });

  it('serve --redis streams what publish sends, redacted, and stops with exit code 0', async () => {
    const ingestChannel = `cli-serve-ingest-${randomUUID()}`;
    const storageChannel = `cli-serve-storage-${randomUUID()}`;
    const env = {
      TIDINGS_REDIS_URL: bed.redis.url,
      TIDINGS_TOKENS: 'cli-serve-token',
      TIDINGS_INGEST_CHANNEL: ingestChannel,
      TIDINGS_STORAGE_CHANNEL: storageChannel,
    };
    const serve = spawnCli(['serve', '--port', '0'], { env });
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    assert.doesNotMatch(serve.stdout, /cli-serve-token/, 'a configured token is never printed');
    const auth = { authorization: 'Bearer cli-serve-token' };
    const ingest = await openSse(`${base}/ingest/monitor`, auth);
    const storage = await openSse(`${base}/storage/monitor`, auth);
    assert.equal((await openSse(`${base}/ingest/monitor`)).status, 401);
    await ingest.waitFor((m) => m.length >= 1);
    await storage.waitFor((m) => m.length >= 1);

    const sip = fixture('ingest/sip_updated_event.full.json');
    const location = fixture('storage/location_updated_event.sftp.json');
    assert.equal((await run(['publish', sip], { env })).code, 0);
    assert.equal((await run(['publish', location], { env })).code, 0);
    await ingest.waitFor((m) => m.length >= 2);
    await storage.waitFor((m) => m.length >= 2);
    assert.equal(ingest.messages[1]?.data, sip);
    const sent = JSON.parse(storage.messages[1]?.data ?? '{}');
    assert.equal(sent.value.type, 'location_updated_event');
    assert.equal(sent.value.value.item.config.value.password, undefined);

    serve.child.kill('SIGTERM');
    const done = await serve.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /stopped/);
    await ingest.ended;
    await storage.ended;
  });

  it('npm start mode: serve --demo prints the dashboard URL and token, streams the demo, exits 0 on SIGINT', async () => {
    const serve = spawnCli(['serve', '--demo', '--port', '0', '--demo-interval', '50']);
    const [, base, token] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/);
    assert.match(serve.stdout, new RegExp(`token +${token}`));
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    const client = await openSse(`${base}/ingest/monitor`, { authorization: `Bearer ${token}` });
    await client.waitFor((m) => m.some((message) => message.data.includes('"sip_created_event"')), 10_000);
    serve.child.kill('SIGINT');
    const done = await serve.exited;
    assert.equal(done.code, 0, done.stderr);
    await client.ended;
    await until(() => !running.has(serve));
  });

  it('rejects bad options with a clear message', async () => {
    const demoOnRedis = await run(['serve', '--demo', '--redis', bed.redis.url]);
    assert.equal(demoOnRedis.code, 1);
    assert.match(demoOnRedis.stderr, /--demo and --redis name different backends: choose one/);
    const badType = await run(['tail', '--redis', bed.redis.url, '--type', 'aip_created_event']);
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /"aip_created_event" is not a ingest event type/);
    const badPort = await run(['serve', '--port', 'eighty']);
    assert.notEqual(badPort.code, 0);
    assert.match(badPort.stderr, /--port must be an integer/);
  });
});
