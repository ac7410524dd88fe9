/**
 * Every package the lockfile installs supports every Node version this
 * package declares, so `npm ci` on a supported Node prints no EBADENGINE
 * warning and nothing installed needs a newer Node than users were promised.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import semver from 'semver';

const repoRoot = resolve(import.meta.dirname, '../..');

interface LockEntry {
  readonly version?: string;
  readonly engines?: unknown;
}

/** `engines.node` as a range, or undefined; old packages wrote `engines` as an array, which npm ignores. */
function nodeRange(engines: unknown): string | undefined {
  if (typeof engines !== 'object' || engines === null || Array.isArray(engines)) return undefined;
  const node = (engines as { node?: unknown }).node;
  return typeof node === 'string' ? node : undefined;
}

test("every locked package's engines.node admits every Node version package.json declares", () => {
  const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(resolve(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const declared = pkg.engines.node;
  assert.ok(semver.validRange(declared), `package.json engines.node ${declared} is not a range`);

  const narrower: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = nodeRange(entry.engines);
    if (path === '' || range === undefined) continue;
    checked++;
    if (!semver.subset(declared, range)) narrower.push(`${path}@${entry.version}: node ${range}`);
  }
  assert.ok(checked > 10, `only ${checked} locked packages declare engines.node`);
  assert.deepEqual(narrower, [], `these need more than node ${declared}`);
});
