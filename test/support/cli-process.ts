// The built `tidings` command, spawned as users run it (node dist/cli/main.js).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { ChangeWaits } from './change-waits.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/** The built command, as an absolute path (examples run from other directories). */
export const CLI = resolve('dist/cli/main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** `npm test` builds first; a direct run builds when dist is missing or older than src. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource('src')) return;
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}

/** How a CLI process ended. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of a spawned CLI process. */
export interface CliOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed (closed at once when not given). */
  stdin?: string;
}

/** The environment for a CLI run: this process's, without any TIDINGS_* variable unless the test sets it. */
export function cliEnv(options: CliOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TIDINGS_')) env[name] = value;
  return { ...env, ...options.env };
}

/** A running process whose output a test can wait for. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Finished>;
  #changes = new ChangeWaits();

  /** Runs the built CLI with `args`; `command` runs another program instead (e.g. a shell). */
  constructor(args: string[], options: CliOptions = {}, command: { file: string; cwd?: string } = { file: '' }) {
    const file = command.file === '' ? process.execPath : command.file;
    this.child = spawn(file, command.file === '' ? [CLI, ...args] : args, {
      env: cliEnv(options),
      cwd: command.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.#changes.changed();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#changes.changed();
    });
    if (options.stdin !== undefined) this.child.stdin?.end(options.stdin);
    else this.child.stdin?.end();
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.#changes.changed();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves when the output matches; rejects with the output so far after `timeoutMs` or if the process exits first. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    await this.until(`${pattern} on ${stream}`, () => this[stream].match(pattern) !== null, timeoutMs);
    return this[stream].match(pattern) as RegExpMatchArray;
  }

  /** Resolves once `done()` holds; rejects at once if the process exits first, or after `timeoutMs`. */
  until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<true> {
    return this.#changes.until(
      () => {
        if (done()) return true;
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          throw new Error(`exited (${this.child.exitCode}) before ${what}:\n${this.stdout}\n${this.stderr}`);
        }
        return undefined;
      },
      timeoutMs,
      () => `no ${what} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`,
    );
  }

  /**
   * How the process ended; one still running after `timeoutMs` (a command
   * that should have stopped by itself) is killed, and that is reported as
   * code `null`, signal SIGKILL, so the test fails instead of hanging.
   */
  async finished(timeoutMs = 20_000): Promise<Finished> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs the CLI to its end (at most `timeoutMs`, see {@link CliProcess.finished}). */
export function runCli(args: string[], options?: CliOptions, timeoutMs?: number): Promise<Finished> {
  return new CliProcess(args, options).finished(timeoutMs);
}

/** A set of spawned processes that a test file kills in its `after`, whatever happened. */
export class CliProcesses {
  #running = new Set<CliProcess>();

  /** Spawns the CLI (see {@link CliProcess}) and keeps it until it exits. */
  spawn(args: string[], options?: CliOptions, command?: { file: string; cwd?: string }): CliProcess {
    const cli = new CliProcess(args, options, command);
    this.#running.add(cli);
    void cli.exited.then(() => this.#running.delete(cli));
    return cli;
  }

  /** Whether `cli` is still running. */
  has(cli: CliProcess): boolean {
    return this.#running.has(cli);
  }

  /** Kills whatever still runs and waits for it to be gone. */
  async killAll(): Promise<void> {
    const left = [...this.#running];
    for (const cli of left) cli.child.kill('SIGKILL');
    await Promise.all(left.map((cli) => cli.exited));
  }
}

/** What {@link cliTestBed} sets up for a test file. */
export interface CliTestBed {
  /** A private redis-server (started in `before`). */
  readonly redis: RedisServer;
  /** The CLI processes the tests spawn; whatever still runs is killed in `after`. */
  readonly running: CliProcesses;
}

/**
 * Registers, in the enclosing `describe`, the hooks every CLI test file
 * needs: build the CLI when needed and start a private redis-server before
 * the tests; kill what still runs and stop the server after them.
 */
export function cliTestBed(redisArgs: string[] = []): CliTestBed {
  let redis: RedisServer | undefined;
  const running = new CliProcesses();
  before(async () => {
    ensureBuilt();
    redis = await startRedisServer(redisArgs);
  });
  after(async () => {
    await running.killAll();
    await redis?.stop();
  });
  return {
    get redis(): RedisServer {
      if (redis === undefined) throw new Error('the redis-server starts in before()');
      return redis;
    },
    running,
  };
}
