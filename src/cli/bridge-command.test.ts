// `tidings bridge` as users run it (the built CLI as a child process) against a
// private redis-server: bad input is refused with a clear message, an
// unreachable Redis fails without showing the password, SIGTERM hands the lease
// over at once, and every example in its help runs as written.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CLI, cliTestBed, runCli } from '../../test/support/cli-process.js';
import { freePort } from '../../test/support/redis-server.js';
import { freshTopic } from '../conformance/harness.js';

describe('tidings bridge (CLI)', { timeout: 60_000 }, () => {
  const bed = cliTestBed();
  const { running } = bed;
  let redis: Redis;
  before(() => {
    redis = new Redis(bed.redis.url);
  });
  after(() => {
    redis?.disconnect();
  });

  const refused = async (args: string[], message: RegExp, env: Record<string, string> = {}): Promise<void> => {
    const done = await runCli(['bridge', '--redis', bed.redis.url, ...args], { env });
    assert.notEqual(done.code, 0, `exited 0:\n${done.stdout}${done.stderr}`);
    assert.match(done.stderr, message);
    assert.doesNotMatch(done.stderr, /\n\s+at /, 'no stack trace for bad input');
  };

  it('refuses bad input with a message naming it', async () => {
    await refused([], /needs --channel <name> \(or TIDINGS_BRIDGE_CHANNEL\)/);
    await refused(['--channel', 'c', '--lease-ttl', 'soon'], /--lease-ttl must be an integer from 30/);
    await refused(['--channel', 'c', '--lease-ttl', '5'], /--lease-ttl must be an integer from 30/);
    await refused(['--channel', 'c', '--max-len', '-1'], /--max-len must be an integer/);
    await refused(['--channel', 'c', '--port', '70000'], /--port must be an integer from 0 to 65535/);
    await refused(['--channel', 'c', '--id', 'has space'], /--id must be 1 to 64 letters/);
    await refused(['--channel', 'c'], /--max-age must be an integer/, { TIDINGS_BRIDGE_MAX_AGE_MS: 'a day' });
    await refused(['--channel', 'c', '--redis', 'http://127.0.0.1'], /scheme "http:" is not supported/);
  });

  it('fails when Redis cannot be reached, without printing the password', async () => {
    const url = `redis://user:s3cr3t-pw@127.0.0.1:${await freePort()}`;
    const done = await runCli(['bridge', '--redis', url, '--channel', 'c', '--port', '0']);
    assert.equal(done.code, 1, done.stderr);
    assert.match(done.stderr, /cannot connect to Redis/);
    assert.doesNotMatch(done.stdout + done.stderr, /s3cr3t-pw/);
  });

  it('SIGTERM stops the active bridge cleanly and releases the lease; the standby takes over before it would expire', async () => {
    const channel = freshTopic();
    // A lease of 6 s: the lease key still naming A after A exited would mean it was left to expire.
    const args = (id: string) => ['bridge', '--channel', channel, '--id', id, '--lease-ttl', '6000', '--port', '0'];
    const env = { env: { TIDINGS_REDIS_URL: bed.redis.url } };
    const a = running.spawn(args('A'), env);
    await a.waitFor('stdout', /bridge A: active/);
    const b = running.spawn(args('B'), env);
    await b.waitFor(
      'stdout',
      /bridge B: copying channel \S+ into stream \S+; health on http:\/\/127\.0\.0\.1:\d+\/readyz/,
    );
    assert.doesNotMatch(b.stdout, /bridge B: active/);
    a.child.kill('SIGTERM');
    const done = await a.finished();
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /bridge A: SIGTERM, stopping\nbridge A: stopped\n$/);
    const holder = await redis.get(`${channel}:bridge-lease`);
    assert.ok(holder === null || holder.startsWith('B '), `the lease was released, not left to expire: ${holder}`);
    await b.waitFor('stdout', /bridge B: active/);
    b.child.kill('SIGINT');
    assert.equal((await b.finished()).code, 0);
  });

  it('every example in `tidings bridge --help` runs as written and stops on Ctrl-C', async () => {
    const help = await runCli(['bridge', '--help']);
    assert.equal(help.code, 0);
    const examples = [...help.stdout.matchAll(/^ +\$ (.+)$/gm)].map((match) => match[1] as string);
    assert.ok(examples.length >= 2, help.stdout);
    const dir = mkdtempSync(join(tmpdir(), 'tidings-bridge-examples-'));
    try {
      const shim = join(dir, 'tidings');
      writeFileSync(shim, `#!/bin/sh\necho $$ > "$EXAMPLE_PID_FILE"\nexec "${process.execPath}" "${CLI}" "$@"\n`);
      chmodSync(shim, 0o755);
      for (const [n, example] of examples.entries()) {
        const line = example.replaceAll('redis://127.0.0.1:6379', bed.redis.url).replace(/--port \d+/g, '--port 0');
        assert.doesNotMatch(line, /:6379\b|--port [1-9]/, 'the example would touch a fixed port');
        const pidFile = join(dir, `pid-${n}`);
        const env = {
          TIDINGS_REDIS_URL: bed.redis.url,
          TIDINGS_BRIDGE_PORT: '0',
          EXAMPLE_PID_FILE: pidFile,
          PATH: `${dir}:${process.env.PATH}`,
        };
        const run = running.spawn(['-c', line], { env }, { file: '/bin/sh', cwd: dir });
        await run.waitFor('stdout', /: active \(acquired the lease\)/);
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGINT');
        const done = await run.finished();
        assert.equal(done.code, 0, `${example}\n${done.stdout}${done.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
