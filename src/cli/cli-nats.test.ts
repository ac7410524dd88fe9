// The built `tidings` command with --nats, against a private nats-server:
// publish reaches tail and serve's streams over core NATS subjects.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliOptions, CliProcesses, ensureBuilt, runCli } from '../../test/support/cli-process.js';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { openSse } from '../../test/support/sse-client.js';

const fixture = (path: string): string => readFileSync(join('test/fixtures', path), 'utf8').trim();

describe('tidings CLI (built) on NATS', { timeout: 60_000 }, () => {
  let nats: NatsServer | undefined;
  const running = new CliProcesses();
  before(async () => {
    ensureBuilt();
    nats = await startNatsServer({ jetstream: false });
  });
  after(async () => {
    await running.killAll();
    await nats?.close();
  });
  const url = (): string => {
    assert.ok(nats);
    return nats.url;
  };

  it('publish --nats reaches tail --nats on the subject, as JSON; Ctrl-C ends tail cleanly', async () => {
    const subject = `cli.ingest.${randomUUID()}`;
    const tail = running.spawn(['tail', '--nats', url(), '--channel', subject, '--json']);
    await tail.waitFor('stderr', new RegExp(`tailing ${subject}`));
    const text = fixture('ingest/sip_created_event.full.json');
    const published = await runCli(['publish', '--nats', url(), '--channel', subject], { stdin: text });
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, new RegExp(`published sip_created_event to ${subject} \\(NATS acknowledged\\)`));
    await tail.waitFor('stdout', /\n/);
    assert.equal(tail.stdout, `${text}\n`);
    tail.child.kill('SIGINT');
    assert.equal((await tail.exited).code, 0);
  });

  it('TIDINGS_NATS_URL selects NATS, the default subjects are enduro.<stream>.events, and --nats with --redis is refused', async () => {
    const env: CliOptions['env'] = { TIDINGS_NATS_URL: url() };
    const tail = running.spawn(['tail', '--stream', 'storage'], { env });
    await tail.waitFor('stderr', /tailing enduro\.storage\.events/);
    tail.child.kill('SIGINT');
    assert.equal((await tail.exited).code, 0);

    const both = await runCli([
      'publish',
      '--nats',
      url(),
      '--redis',
      'redis://127.0.0.1:1',
      fixture('ingest/sip_created_event.full.json'),
    ]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--nats and --redis name two backends: choose one/);
  });

  it('publish --nats with no server reachable fails with a clear reason, bounded', async () => {
    const dead = 'nats://127.0.0.1:1';
    const result = await runCli(['publish', '--nats', dead, fixture('ingest/sip_created_event.full.json')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot publish to enduro\.ingest\.events/);
    assert.match(result.stderr, /not connected within \d+ ms/);
    assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'no stack trace');
  });

  it('serve --nats streams what publish --nats sends, and stops with exit code 0', async () => {
    const ingestSubject = `cli.serve.ingest.${randomUUID()}`;
    const serve = running.spawn([
      'serve',
      '--nats',
      url(),
      '--ingest-channel',
      ingestSubject,
      '--port',
      '0',
      '--no-auth',
    ]);
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    assert.match(serve.stdout, new RegExp(`backend +nats \\(${ingestSubject}, enduro\\.storage\\.events\\)`));
    const ingest = await openSse(`${base}/ingest/monitor`);
    await ingest.waitFor((m) => m.length >= 1);
    const sip = fixture('ingest/sip_updated_event.full.json');
    const published = await runCli(['publish', '--nats', url(), '--channel', ingestSubject, sip]);
    assert.equal(published.code, 0, published.stderr);
    await ingest.waitFor((m) => m.some((message) => message.data === sip));
    serve.child.kill('SIGTERM');
    const done = await serve.exited;
    assert.equal(done.code, 0, done.stderr);
    await ingest.ended;
  });
});
