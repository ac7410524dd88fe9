// Command line and environment that mean what they say: boolean variables,
// token lists, the choice of backend, and a help that lists every variable.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliTestBed, type Finished, runCli } from '../../test/support/cli-process.js';

/** A command expected to stop by itself; one that starts serving instead is killed after 10 s and fails. */
const refused = (args: string[], env: Record<string, string> = {}): Promise<Finished> => runCli(args, { env }, 10_000);

describe('tidings CLI: command line and environment', () => {
  const bed = cliTestBed();
  const { running } = bed;

  /** Starts `serve` on a free port; resolves with its base URL and backend line once it listens, and a stop that expects exit 0. */
  async function serving(args: string[], env: Record<string, string>) {
    const serve = running.spawn(['serve', '--port', '0', ...args], { env });
    const [, base] = await serve.waitFor('stdout', /dashboard +(http:\/\/127\.0\.0\.1:\d+)\//);
    const [, backend] = await serve.waitFor('stdout', /backend +(.*)\n/);
    return {
      base: base as string,
      backend: backend as string,
      stdout: () => serve.stdout,
      stop: async (): Promise<void> => {
        serve.child.kill('SIGINT');
        const done = await serve.exited;
        assert.equal(done.code, 0, done.stderr);
      },
    };
  }

  it('TIDINGS_METRICS is read as a boolean: false/0/no keep the unauthenticated /metrics off, true/1/yes turn it on', async () => {
    for (const [value, on] of [
      ['false', false],
      ['0', false],
      ['No', false],
      ['YES', true],
    ] as const) {
      const serve = await serving(['--demo'], { TIDINGS_METRICS: value });
      const metrics = await fetch(`${serve.base}/metrics`);
      await metrics.arrayBuffer();
      assert.equal(metrics.status, on ? 200 : 404, `TIDINGS_METRICS=${value}`);
      assert.equal(/metrics +http/.test(serve.stdout()), on, `TIDINGS_METRICS=${value}: ${serve.stdout()}`);
      await serve.stop();
    }
  });

  it('any other value of a boolean variable is a usage error naming it', async () => {
    for (const [name, value] of [
      ['TIDINGS_METRICS', 'maybe'],
      ['TIDINGS_METRICS', ''],
      ['TIDINGS_DEMO', 'on'],
      ['TIDINGS_DEMO', 'false!'],
    ] as const) {
      // --metrics on the command line wins over the variable, but a bad variable is still reported.
      const done = await refused(['serve', '--demo', '--metrics', '--port', '0'], { [name]: value });
      assert.equal(done.code, 1, `${name}=${JSON.stringify(value)}: ${done.stdout}`);
      assert.match(done.stderr, new RegExp(`^tidings: ${name} must be true, false, 1, 0, yes or no`, 'm'));
      assert.doesNotMatch(done.stderr, /^\s+at /m, 'no stack');
    }
  });

  it('TIDINGS_DEMO=false with TIDINGS_REDIS_URL serves Redis; TIDINGS_DEMO=1 alone serves the demo', async () => {
    const onRedis = await serving([], { TIDINGS_DEMO: 'false', TIDINGS_REDIS_URL: bed.redis.url });
    assert.match(onRedis.backend, /^redis /);
    await onRedis.stop();
    const demo = await serving([], { TIDINGS_DEMO: '1' });
    assert.match(demo.backend, /in-memory, demo producer running/);
    await demo.stop();
  });

  it('the command line wins over the environment in the choice of backend; both on one level is an error', async () => {
    const demo = await serving(['--demo'], { TIDINGS_REDIS_URL: bed.redis.url });
    assert.match(demo.backend, /in-memory, demo producer running/);
    await demo.stop();
    const onRedis = await serving(['--redis', bed.redis.url], { TIDINGS_DEMO: 'yes' });
    assert.match(onRedis.backend, /^redis /);
    await onRedis.stop();
    for (const [args, env] of [
      [['--demo', '--redis', bed.redis.url], {}],
      [[], { TIDINGS_DEMO: 'true', TIDINGS_REDIS_URL: bed.redis.url }],
    ] as const) {
      const both = await refused(['serve', '--port', '0', ...args], env);
      assert.equal(both.code, 1, both.stdout);
      assert.match(
        both.stderr,
        /(--demo and --redis|TIDINGS_DEMO and TIDINGS_REDIS_URL) name different backends: choose one/,
      );
    }
  });

  it('serve with neither --redis nor --demo is an error whose hint names both and their variables', async () => {
    const done = await refused(['serve', '--port', '0'], { TIDINGS_DEMO: 'no' });
    assert.equal(done.code, 1, done.stdout);
    assert.equal(done.stdout, '');
    const [line, ...rest] = done.stderr.trimEnd().split('\n');
    assert.deepEqual(rest, [], done.stderr);
    for (const hint of ['--redis', 'TIDINGS_REDIS_URL', '--demo', 'TIDINGS_DEMO'])
      assert.ok(line?.includes(hint), line);
  });

  it('an empty token list is an error, not a generated token', async () => {
    for (const [args, env, source] of [
      [['--tokens', ''], {}, '--tokens'],
      [['--tokens', ' , ,'], {}, '--tokens'],
      [[], { TIDINGS_TOKENS: ' , ' }, 'TIDINGS_TOKENS'],
      [[], { TIDINGS_TOKENS: '' }, 'TIDINGS_TOKENS'],
    ] as const) {
      const done = await refused(['serve', '--demo', '--port', '0', ...args], env);
      assert.equal(done.code, 1, `${source} ${JSON.stringify(args)}: ${done.stdout}`);
      assert.doesNotMatch(done.stdout, /token/);
      assert.match(done.stderr, new RegExp(`^tidings: ${source} lists no token`, 'm'));
    }
    // A list that names a token still works, and nothing is generated.
    const serve = await serving(['--demo'], { TIDINGS_TOKENS: ' , env-token , ' });
    const stream = await fetch(`${serve.base}/healthz`);
    assert.equal(stream.status, 200);
    await stream.arrayBuffer();
    assert.doesNotMatch(serve.stdout(), /#token=|token +\S/);
    await serve.stop();
  });

  it('the top-level help lists every environment variable the CLI reads', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    const read = new Set<string>();
    for (const file of readdirSync('src/cli').filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      for (const [name] of readFileSync(join('src/cli', file), 'utf8').matchAll(/TIDINGS_[A-Z_]+/g)) read.add(name);
    }
    assert.ok(read.size >= 12, [...read].join(' '));
    for (const name of read) assert.match(stdout, new RegExp(`\\b${name}\\b`), `${name} missing from tidings --help`);
  });
});
