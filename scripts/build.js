/**
 * Builds the package: the compiled sources and the dashboard's static files,
 * into dist/ or the directory given as the first argument (the package tests
 * build a private copy this way).
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const outDir = resolve(process.argv[2] ?? join(repoRoot, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir], {
  stdio: 'inherit',
});
cpSync(join(repoRoot, 'src/gateway/dashboard'), join(outDir, 'gateway/dashboard'), { recursive: true });
