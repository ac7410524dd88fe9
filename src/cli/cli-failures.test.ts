// When Redis cannot be used (nothing listens, the host is unknown, the
// password is wrong), publish and tail end with the real cause as their last
// line; Ctrl-C ends tail silently, even while it is still connecting.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CliProcesses, ensureBuilt, type Finished, runCli } from '../../test/support/cli-process.js';
import { freePort, type RedisServer, startRedisServer } from '../../test/support/redis-server.js';

const EVENT = `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${randomUUID()}","status":"ingested"}}}`;

/** The checks every failed run must pass: non-zero, the cause last, no stack, nothing secret. */
function assertEndsWithCause(done: Finished, cause: RegExp, secret: string, what: string): void {
  const output = `${done.stdout}\n${done.stderr}`;
  assert.notEqual(done.code, 0, `${what} exited 0:\n${output}`);
  assert.equal(done.signal, null, `${what} did not stop by itself:\n${output}`);
  const last = done.stderr.trimEnd().split('\n').at(-1) ?? '';
  assert.match(last, cause, `${what}: last line ${JSON.stringify(last)}\n${output}`);
  assert.doesNotMatch(done.stderr, /^\s+at /m, `${what} printed a stack:\n${output}`);
  assert.ok(!output.includes(secret), `${what} printed the password:\n${output}`);
}

describe('tidings CLI: Redis failures and Ctrl-C', () => {
  let protectedRedis: RedisServer;
  let plainRedis: RedisServer;
  const password = `right-${randomUUID()}`;
  const running = new CliProcesses();

  before(async () => {
    ensureBuilt();
    [protectedRedis, plainRedis] = await Promise.all([
      startRedisServer(['--requirepass', password]),
      startRedisServer(),
    ]);
  });

  after(async () => {
    await running.killAll();
    await Promise.all([protectedRedis?.stop(), plainRedis?.stop()]);
  });

  it('publish and tail end with the real cause: refused, not found, wrong or missing password', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const refusedPort = await freePort();
    const targets = [
      { what: 'nothing listening', url: `redis://127.0.0.1:${refusedPort}`, cause: /ECONNREFUSED|refused/i },
      { what: 'unknown host', url: 'redis://nonexistent.invalid:6379', cause: /ENOTFOUND|not found/i },
      {
        what: 'wrong password',
        url: `redis://:${wrong}@127.0.0.1:${protectedRedis.port}`,
        cause: /WRONGPASS|invalid password|wrong password/i,
      },
      {
        what: 'no password',
        url: `redis://127.0.0.1:${protectedRedis.port}`,
        cause: /NOAUTH|authentication required/i,
      },
    ];
    // In parallel: each waits for its timeout on the service side, and nothing is shared between them.
    await Promise.all(
      targets.flatMap(({ what, url, cause }) => [
        runCli(['publish', '--redis', url, EVENT], {}, 30_000).then((done) =>
          assertEndsWithCause(done, cause, wrong, `publish (${what})`),
        ),
        runCli(['tail', '--redis', url], {}, 30_000).then((done) =>
          assertEndsWithCause(done, cause, wrong, `tail (${what})`),
        ),
      ]),
    );
  });

  it('Ctrl-C ends a running tail with exit code 0 and nothing more on stderr', async () => {
    const channel = `cli-sigint-${randomUUID()}`;
    const tail = running.spawn(['tail', '--channel', channel], { env: { TIDINGS_REDIS_URL: plainRedis.url } });
    await tail.waitFor('stderr', /tailing/);
    const published = await runCli(['publish', '--channel', channel, EVENT], {
      env: { TIDINGS_REDIS_URL: plainRedis.url },
    });
    assert.equal(published.code, 0, published.stderr);
    await tail.waitFor('stdout', /sip_status_updated_event/);
    tail.child.kill('SIGINT');
    const done = await tail.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stderr, `tailing ${channel} (ingest events); Ctrl-C to stop\n`);
  });

  it('Ctrl-C while tail is still connecting ends it at once, with exit code 0 and nothing on stderr', async () => {
    // A server that accepts connections and never answers: tail waits for SUBSCRIBE to be confirmed.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const port = (silent.address() as { port: number }).port;
      const tail = running.spawn(['tail', '--redis', `redis://127.0.0.1:${port}`]);
      await once(silent, 'connection');
      tail.child.kill('SIGINT');
      // Waiting for the subscribe timeout instead would end it with an error.
      const done = await tail.finished();
      assert.equal(done.code, 0, `${done.signal} ${done.stderr}`);
      assert.equal(done.stderr, '');
      assert.equal(done.stdout, '');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
