import { type ChildProcess, spawn } from 'node:child_process';
import { ChangeWaits } from './change-waits.js';

/**
 * The `tidings` command run from source (`src/cli/main.ts` through tsx), so a
 * test needs no build; its output is kept and can be waited on.
 */
export class SourceCli {
  readonly child: ChildProcess;
  readonly output = { stdout: '', stderr: '' };
  /** Resolves with the exit code once the command exited and all its output was read. */
  readonly closed: Promise<number | null>;
  readonly #changes = new ChangeWaits();

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      this.child[stream]?.setEncoding('utf8').on('data', (chunk: string) => {
        this.output[stream] += chunk;
        this.#changes.changed();
      });
    }
    this.closed = new Promise((resolve) => {
      this.child.once('close', (code) => {
        this.#changes.changed();
        resolve(code);
      });
    });
  }

  /** Resolves once `done()` holds; rejects at once if the command exits first, or after `timeoutMs`. */
  until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<true> {
    return this.#changes.until(
      () => {
        if (done()) return true;
        if (this.child.exitCode !== null) {
          throw new Error(`exited (${this.child.exitCode}) before ${what}:\n${this.output.stderr}`);
        }
        return undefined;
      },
      timeoutMs,
      () => `no ${what} within ${timeoutMs} ms:\n${this.output.stdout}\n${this.output.stderr}`,
    );
  }
}
