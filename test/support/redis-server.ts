import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A `redis-server` this test process started on its own port, and stops. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then waits for exit). Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port after `stop()`. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered, as with a hung host. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  // The kernel may hand the same free port out again once released: never give one twice in a process.
  for (;;) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    server.close();
    if (address === null || typeof address === 'string') throw new Error('no port');
    if (handedOut.has(address.port)) continue;
    handedOut.add(address.port);
    return address.port;
  }
}

const handedOut = new Set<number>();

/**
 * Starts a private `redis-server` (no persistence) and resolves when it
 * accepts connections. Fails, never skips, when `redis-server` is missing.
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before ready:\n${output}`)));
    });
    await ready;
    proc.stdout?.removeAllListeners('data');
    proc.stderr?.removeAllListeners('data');
    proc.stdout?.resume();
    proc.stderr?.resume();
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGCONT'); // a paused server would never act on SIGTERM
    proc.kill('SIGTERM');
    await exited;
  };

  const signal = (name: NodeJS.Signals): void => {
    if (!child?.kill(name)) throw new Error(`redis-server on port ${port} is not running`);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}
