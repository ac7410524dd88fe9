/**
 * Every package a user installs with Tidings supports every Node version
 * this package declares, so nothing needs a newer Node than users were
 * promised; development tools (which users never install) support the Node 20
 * line from the declared minimum, so `npm ci` of this repository on Node 20
 * prints no EBADENGINE warning. (Some tools skip odd, end-of-life lines such
 * as Node 21, which is why they are held to Node 20 only.)
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
  /** Installed for development only. */
  readonly dev?: boolean;
}

/** `engines.node` as a range, or undefined; old packages wrote `engines` as an array, which npm ignores. */
function nodeRange(engines: unknown): string | undefined {
  if (typeof engines !== 'object' || engines === null || Array.isArray(engines)) return undefined;
  const node = (engines as { node?: unknown }).node;
  return typeof node === 'string' ? node : undefined;
}

/**
 * Dev packages that declare a newer Node and are kept on purpose: the
 * `eventsource` client at the version Enduro's dashboard depends on (^5.1.1)
 * and its parser. Their only use is the resume tests, which run them on Node 20
 * and fail if they do not work there; `npm ci` warns about them (EBADENGINE).
 */
const KEPT_DEV_PACKAGES: ReadonlyMap<string, string> = new Map([
  ['node_modules/eventsource', '5.1.1'],
  ['node_modules/eventsource-parser', '4.1.3'],
]);

test('every locked runtime package admits every Node version package.json declares, every dev tool the Node 20 line', () => {
  const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(resolve(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const declared = pkg.engines.node;
  assert.ok(semver.validRange(declared), `package.json engines.node ${declared} is not a range`);
  const minimum = semver.minVersion(declared);
  assert.ok(minimum !== null && minimum.major === 20, `engines.node ${declared} should start on Node 20`);
  const node20 = `^${minimum.version}`;

  const narrower: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = nodeRange(entry.engines);
    if (path === '' || range === undefined) continue;
    checked++;
    if (entry.dev === true && KEPT_DEV_PACKAGES.get(path) === entry.version) continue;
    const needed = entry.dev === true ? node20 : declared;
    if (!semver.subset(needed, range))
      narrower.push(`${path}@${entry.version}${entry.dev ? ' (dev)' : ''}: node ${range}`);
  }
  assert.ok(checked > 10, `only ${checked} locked packages declare engines.node`);
  assert.deepEqual(narrower, [], `these need more than node ${declared} (runtime) or ${node20} (dev)`);
});
