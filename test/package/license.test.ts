/** The licence package.json declares is the one the repository and its package carry. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const repoRoot = resolve(import.meta.dirname, '../..');

/** Lines that identify a licence's full text, by SPDX id. */
const FULL_TEXT_MARKERS: Record<string, readonly string[]> = {
  'Apache-2.0': [
    'Apache License',
    'Version 2.0, January 2004',
    'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION',
    '9. Accepting Warranty or Additional Liability.',
    'END OF TERMS AND CONDITIONS',
  ],
};

test("LICENSE holds the full text of package.json's licence", () => {
  const { license } = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { license: string };
  const markers = FULL_TEXT_MARKERS[license];
  assert.ok(markers, `no full-text markers known for licence ${license}`);
  const text = readFileSync(resolve(repoRoot, 'LICENSE'), 'utf8');
  for (const marker of markers) assert.ok(text.includes(marker), `LICENSE lacks "${marker}"`);
});

test('the published package carries LICENSE', async () => {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
  });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  assert.ok(pack?.files.some((file) => file.path === 'LICENSE'));
});
