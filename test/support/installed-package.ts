/**
 * A throw-away consumer project with this package installed the way npm lays
 * it out, for tests that use `tidings` as a user does (by name, through its
 * exports map) rather than through the sources.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const repoRoot = resolve(import.meta.dirname, '../..');

/** A consumer project with `node_modules/tidings` in it. */
export interface InstalledPackage {
  /** The consumer project's directory (its package.json is `"type": "module"`). */
  readonly dir: string;
  /** Deletes the project. */
  remove(): void;
}

/**
 * Builds the package (`scripts/build.js`) into `node_modules/tidings` of a new
 * temporary project, beside the files npm publishes with it, and links its
 * dependencies (and `alsoLink`, e.g. `@types/node`) from the repository's
 * node_modules, which is where their own dependencies resolve from.
 */
export async function installPackage(alsoLink: readonly string[] = []): Promise<InstalledPackage> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-consumer-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const installed = join(dir, 'node_modules', 'tidings');
    mkdirSync(installed, { recursive: true });
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts/build.js'), join(installed, 'dist')]);
    for (const file of ['package.json', 'README.md', 'LICENSE'])
      copyFileSync(join(repoRoot, file), join(installed, file));

    const { dependencies } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of [...Object.keys(dependencies), ...alsoLink]) {
      const link = join(dir, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules', name), link, 'dir');
    }
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'consumer', private: true, type: 'module' })}\n`,
    );
    return { dir, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
