/**
 * The repository carries its own copy of the wire contract, so a clone with
 * no `shared/` directory beside it tests on its own, and the copy cannot drift
 * from the project's shared original while that is checked out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { CONTRACT_PATH, SHARED_CONTRACT_PATH } from '../fixtures/load.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const hasShared = existsSync(SHARED_CONTRACT_PATH);

const identical = 'the copy of the wire contract is byte-identical to ../shared/wire/monitor-events.schema.json';
const noShared = 'no ../shared beside this checkout';

test(hasShared ? identical : `${identical} (skipped: ${noShared})`, { skip: hasShared ? false : noShared }, () => {
  assert.ok(readFileSync(CONTRACT_PATH).equals(readFileSync(SHARED_CONTRACT_PATH)), `${CONTRACT_PATH} differs`);
});

/** What a clone holds: everything but installed, built and generated files. */
function inClone(path: string): boolean {
  const top = relative(repoRoot, path).split(/[\\/]/)[0];
  return !['.git', 'node_modules', 'dist', 'test-output'].includes(top ?? '');
}

test('a copy of the repository with no shared/ beside it passes the tests that validate against the contract', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-clone-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clone = join(dir, basename(repoRoot));
  cpSync(repoRoot, clone, { recursive: true, filter: inClone });
  symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
  assert.equal(existsSync(join(dir, 'shared')), false);

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'src/monitor/schemas.test.ts', 'src/monitor/codec.test.ts'],
    // Without NODE_TEST_CONTEXT the child runs its files instead of reporting to this runner.
    { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, output);
  assert.match(output, /^# fail 0$/m);
  assert.doesNotMatch(output, /^# pass 0$/m);
});
