// Every example in `tidings --help` and in each command's help runs as
// written, through a real shell, against a private redis-server.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cliTestBed, runCli } from '../../test/support/cli-process.js';

const HELPS = [['--help'], ['serve', '--help'], ['tail', '--help'], ['publish', '--help']];

describe('tidings CLI: every --help example works', () => {
  const bed = cliTestBed();
  const { running } = bed;
  let dir: string;

  before(() => {
    // `tidings` on the PATH, as after `npm install -g`; it notes its pid (kept by exec) so the test can send Ctrl-C.
    dir = mkdtempSync(join(tmpdir(), 'tidings-examples-'));
    const shim = join(dir, 'tidings');
    writeFileSync(shim, `#!/bin/sh\necho $$ > "$EXAMPLE_PID_FILE"\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(shim, 0o755);
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The examples of one help text, each as written after its `$ `. */
  async function examplesOf(args: string[]): Promise<string[]> {
    const { code, stdout } = await runCli(args);
    assert.equal(code, 0);
    return [...stdout.matchAll(/^ +\$ (.+)$/gm)].map((match) => match[1] as string);
  }

  /** The example as run here: the test's Redis instead of 127.0.0.1:6379, any free port instead of a fixed one. */
  const localised = (line: string): string =>
    line.replaceAll('redis://127.0.0.1:6379', bed.redis.url).replace(/--port \d+/g, '--port 0');

  it('each help has examples, and each example runs to its expected end', async () => {
    let ran = 0;
    for (const args of HELPS) {
      const examples = await examplesOf(args);
      assert.ok(examples.length > 0, `tidings ${args.join(' ')} has no example`);
      for (const example of examples) {
        const line = localised(example);
        assert.doesNotMatch(line, /:6379\b|--port [1-9]/, 'the example would touch a fixed port');
        const command = /\btidings (serve|tail|publish)\b/.exec(line)?.[1];
        assert.ok(command !== undefined, `not a tidings command: ${example}`);
        const pidFile = join(dir, `pid-${ran}`);
        // Defaults that would reach a fixed port point at the test's instead; an example's own settings win.
        const env = { TIDINGS_REDIS_URL: bed.redis.url, TIDINGS_PORT: '0', EXAMPLE_PID_FILE: pidFile };
        const run = running.spawn(
          ['-c', line],
          { env: { ...env, PATH: `${dir}:${process.env.PATH}` } },
          {
            file: '/bin/sh',
            cwd: dir,
          },
        );
        if (command === 'publish') {
          const done = await run.finished();
          assert.equal(done.code, 0, `${example}\n${done.stdout}${done.stderr}`);
          assert.match(done.stdout, /^published \w+ to \S+ \(\d+ receivers?\)$/m, example);
        } else {
          // Long-running: it must get to work, then stop cleanly on Ctrl-C.
          if (command === 'serve') await run.waitFor('stdout', /Press Ctrl-C to stop/);
          else await run.waitFor('stderr', /^tailing /m);
          process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGINT');
          const done = await run.finished();
          assert.equal(done.code, 0, `${example}\n${done.stdout}${done.stderr}`);
        }
        ran++;
      }
    }
    assert.ok(ran >= 8, `only ${ran} examples`);
  });
});
