/**
 * Every ```ts block of README.md is type-checked and run as a user would:
 * each block is a module of a consumer project that has `tidings` installed
 * (the built package, through its exports map), compiled by tsc with the
 * settings such a project plausibly uses, then run by this Node. A block that
 * names a Redis on 6379 gets a private `redis-server` on a free port instead,
 * with the user and password the block names.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type InstalledPackage, installPackage } from '../support/installed-package.js';
import { adminClient } from '../support/redis-kit.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

/** What a Node 20 project that uses `await using` would plausibly compile with. */
const USER_COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2022', 'ESNext.Disposable'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  types: ['node'],
  outDir: 'out',
};

/** A block runs this long at most: every one of them ends on its own. */
const RUN_TIMEOUT_MS = 30_000;

/** A ```ts block of README.md and the section it appears in. */
interface Block {
  readonly name: string;
  readonly source: string;
}

function readmeBlocks(): Block[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const blocks: Block[] = [];
  let section = '(top)';
  let body: string[] | undefined;
  for (const line of readme.split('\n')) {
    if (body === undefined) {
      if (/^#{1,6} /.test(line)) section = line.replace(/^#+ /, '');
      else if (/^```(ts|typescript)\s*$/.test(line)) body = [];
    } else if (line.startsWith('```')) {
      blocks.push({ name: `block ${blocks.length + 1} (under "${section}")`, source: `${body.join('\n')}\n` });
      body = undefined;
    } else {
      body.push(line);
    }
  }
  return blocks;
}

const LOCAL_REDIS = /\b(127\.0\.0\.1|localhost):6379\b/g;
const blocks = readmeBlocks();
let pkg: InstalledPackage;
let redis: RedisServer;

before(async () => {
  redis = await startRedisServer();
  // The Redis example connects as user:password; the private server knows that user.
  const admin = adminClient(redis.url);
  await admin.call('ACL', 'SETUSER', 'user', 'on', '>password', '~*', '&*', '+@all');
  admin.disconnect();
  pkg = await installPackage(['@types/node']);
  blocks.forEach((block, i) => {
    writeFileSync(join(pkg.dir, `block${i + 1}.ts`), block.source.replace(LOCAL_REDIS, `127.0.0.1:${redis.port}`));
  });
  writeFileSync(
    join(pkg.dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: USER_COMPILER_OPTIONS, include: ['block*.ts'] }),
  );
});

after(async () => {
  pkg?.remove();
  await redis?.stop();
});

test('README.md has TypeScript blocks', () => {
  assert.ok(blocks.length >= 3, `found ${blocks.length}`);
});

test("README's TypeScript blocks type-check with strict NodeNext settings against the installed package", async () => {
  const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: pkg.dir });
  await compiled.catch((error: { stdout?: string }) => assert.fail(`tsc:\n${error.stdout ?? String(error)}`));
});

blocks.forEach((block, i) => {
  test(`README ${block.name} runs to completion and writes nothing to stderr`, async () => {
    const result = await run(process.execPath, [join('out', `block${i + 1}.js`)], {
      cwd: pkg.dir,
      timeout: RUN_TIMEOUT_MS,
    }).catch((error: { code?: number; signal?: string; stderr?: string }) =>
      assert.fail(
        `exit ${error.code ?? error.signal} (runs are cut at ${RUN_TIMEOUT_MS} ms):\n${error.stderr ?? String(error)}`,
      ),
    );
    assert.equal(result.stderr, '');
  });
});
