import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './redis-server.js';

/** The server binary; the machine's Debian package puts it here. */
const NATS_SERVER = process.env.TIDINGS_NATS_SERVER ?? '/usr/sbin/nats-server';
/** How long a start, a readiness wait or a stop may take before it fails instead of hanging a test. */
const DEADLINE_MS = 20_000;
/** Between two readiness probes of the monitoring port (the server has no push signal for "JetStream is current"). */
const PROBE_INTERVAL_MS = 50;

/** One `nats-server` process this test process started, on its own ports and store directory. */
export interface NatsNode {
  /** `server_name`, distinct within a cluster. */
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** The HTTP monitoring port (`/healthz`, `/varz`, `/connz`). */
  readonly monitorPort: number;
  /** Whether the process is alive (it may be paused). */
  readonly running: boolean;
  /** The process id while running, for checks in `/proc`. */
  readonly pid: number | undefined;
  /** Kills the process with SIGKILL (no lame-duck, no goodbye to clients or routes) and waits for it to exit. */
  kill(): Promise<void>;
  /** Stops it gracefully (SIGTERM) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and store directory, resolving when it is healthy. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): sockets stay open and nothing answers, as with a partitioned host. */
  pause(): void;
  /** Thaws a paused process (SIGCONT). */
  resume(): void;
  /** Resolves when `/healthz` answers ok (with JetStream current when it is enabled). */
  ready(): Promise<void>;
}

/** A single private `nats-server` with JetStream. */
export interface NatsServer extends NatsNode {
  /** Stops the server and removes its store directory. Idempotent. */
  close(): Promise<void>;
}

/** Three `nats-server` processes routed to each other on loopback, JetStream clustered (R3 possible). */
export interface NatsCluster {
  readonly nodes: readonly [NatsNode, NatsNode, NatsNode];
  /** Every node's client URL, for a client that should fail over between them. */
  readonly urls: string[];
  /** Resolves when every running node reports healthy. */
  ready(): Promise<void>;
  /** Kills every node and removes every store directory. Idempotent. */
  close(): Promise<void>;
}

interface NodePlan {
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly configFile: string;
  readonly jetstream: boolean;
  /** Bytes the server holds for one client before it cuts it as a slow consumer. */
  readonly maxPending: number;
  /** How long a write to one client may block before the server cuts it as a slow consumer. */
  readonly writeDeadlineMs: number | undefined;
}

/** Every child still alive, so the process-exit hook can kill what a crashed test left behind. */
const alive = new Set<ChildProcess>();
/** Temp directories to remove at exit if a test never got to close them. */
const scratch = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' listeners must be synchronous: SIGKILL needs no waiting and cannot be ignored by a paused process.
  process.once('exit', () => {
    for (const child of alive) child.kill('SIGKILL');
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });
}

async function probeHealthy(plan: NodePlan): Promise<boolean> {
  try {
    // Plain /healthz (not js-enabled-only): with JetStream it also waits for a meta leader and current streams.
    const response = await fetch(`http://127.0.0.1:${plan.monitorPort}/healthz`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function createNode(plan: NodePlan): NatsNode {
  let child: ChildProcess | undefined;
  let output = '';

  const ready = async (): Promise<void> => {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`nats-server ${plan.name} is not running:\n${output.slice(-2_000)}`);
      }
      if (await probeHealthy(plan)) return;
      if (Date.now() > deadline) {
        throw new Error(`nats-server ${plan.name} not healthy after ${DEADLINE_MS} ms:\n${output.slice(-2_000)}`);
      }
      await delay(PROBE_INTERVAL_MS);
    }
  };

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      throw new Error(`nats-server ${plan.name} is already running`);
    }
    output = '';
    const proc = spawn(NATS_SERVER, ['-c', plan.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    alive.add(proc);
    proc.once('exit', () => alive.delete(proc));
    const keep = (chunk: Buffer): void => {
      // Only the tail matters for a failure message; an unbounded string would grow for the whole test.
      output = (output + chunk.toString()).slice(-8_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const spawnFailed = new Promise<never>((_, reject) => proc.once('error', reject));
    await Promise.race([ready(), spawnFailed]);
  };

  const waitExit = async (proc: ChildProcess): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    const timer = setTimeout(() => proc.kill('SIGKILL'), DEADLINE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = waitExit(proc);
    proc.kill('SIGCONT'); // a paused server would never act on SIGTERM
    proc.kill(signal);
    await exited;
  };

  const signal = (name: NodeJS.Signals): void => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null || !proc.kill(name)) {
      throw new Error(`nats-server ${plan.name} is not running`);
    }
  };

  return {
    name: plan.name,
    port: plan.port,
    url: `nats://127.0.0.1:${plan.port}`,
    monitorPort: plan.monitorPort,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get pid() {
      return child?.pid;
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    ready,
    start,
  } as NatsNode & { start(): Promise<void> };
}

function configText(plan: NodePlan, cluster?: { name: string; port: number; routes: number[] }): string {
  const lines = [
    `server_name: ${JSON.stringify(plan.name)}`,
    'host: "127.0.0.1"',
    `port: ${plan.port}`,
    `http: "127.0.0.1:${plan.monitorPort}"`,
    `max_pending: ${plan.maxPending}`,
    ...(plan.writeDeadlineMs === undefined ? [] : [`write_deadline: "${plan.writeDeadlineMs}ms"`]),
    // The server refuses a max_payload above max_pending.
    `max_payload: ${Math.min(1024 * 1024, plan.maxPending)}`,
  ];
  if (plan.jetstream) {
    lines.push(`jetstream { store_dir: ${JSON.stringify(plan.storeDir)}, max_memory_store: 268435456 }`);
  }
  if (cluster) {
    const routes = cluster.routes.map((port) => JSON.stringify(`nats-route://127.0.0.1:${port}`)).join(', ');
    lines.push(
      `cluster { name: ${JSON.stringify(cluster.name)}, host: "127.0.0.1", port: ${cluster.port}, routes: [${routes}] }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function planNode(
  root: string,
  name: string,
  jetstream: boolean,
  maxPending = 64 * 1024 * 1024,
  writeDeadlineMs?: number,
): Promise<NodePlan> {
  return {
    maxPending,
    writeDeadlineMs,
    name,
    port: await freePort(),
    monitorPort: await freePort(),
    storeDir: join(root, name, 'store'),
    configFile: join(root, `${name}.conf`),
    jetstream,
  };
}

/**
 * Starts a private `nats-server` (JetStream on, store in a temp directory) on
 * free loopback ports and resolves when it is healthy. Fails, never skips,
 * when the binary is missing. Killed at process exit if never closed.
 */
export function startNatsServer(options: SingleServerOptions = {}): Promise<NatsServer> {
  return retryingPortClashes(() => startNatsServerOnce(options));
}

interface SingleServerOptions {
  jetstream?: boolean;
  /** The server's `max_pending` per client, in bytes: small to provoke a slow consumer. @default 64 MiB */
  maxPending?: number;
  /** The server's `write_deadline`: short to cut a stalled consumer soon. @default the server's */
  writeDeadlineMs?: number;
}

async function startNatsServerOnce(options: SingleServerOptions): Promise<NatsServer> {
  installExitHook();
  const root = mkdtempSync(join(tmpdir(), 'tidings-nats-'));
  scratch.add(root);
  const plan = await planNode(
    root,
    'tidings-single',
    options.jetstream ?? true,
    options.maxPending,
    options.writeDeadlineMs,
  );
  writeFileSync(plan.configFile, configText(plan));
  const node = createNode(plan) as NatsNode & { start(): Promise<void> };
  try {
    await node.start();
  } catch (error) {
    await node.kill();
    rmSync(root, { recursive: true, force: true });
    scratch.delete(root);
    throw error;
  }
  const close = async (): Promise<void> => {
    await node.kill();
    rmSync(root, { recursive: true, force: true });
    scratch.delete(root);
  };
  return Object.assign(Object.create(null) as object, {
    name: node.name,
    port: node.port,
    url: node.url,
    monitorPort: node.monitorPort,
    get running() {
      return node.running;
    },
    get pid() {
      return node.pid;
    },
    kill: node.kill,
    stop: node.stop,
    restart: node.restart,
    pause: node.pause,
    resume: node.resume,
    ready: node.ready,
    close,
  }) as NatsServer;
}

/**
 * Starts three `nats-server` processes on loopback, each routed to the other
 * two, with JetStream clustered (distinct `server_name`, per-node store
 * directory), and resolves when all three are healthy and JetStream has a
 * meta leader. Every node is killed at process exit if never closed.
 */
export function startNatsCluster(): Promise<NatsCluster> {
  return retryingPortClashes(startNatsClusterOnce);
}

/**
 * Free ports are picked, released, then handed to a server: another process
 * (or another pick) may take one in between, and the server then exits with
 * "address already in use". Such a start is tried again with new ports.
 */
async function retryingPortClashes<R>(start: () => Promise<R>, attempts = 4): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const clash = error instanceof Error && error.message.includes('address already in use');
      if (!clash || attempt >= attempts) throw error;
    }
  }
}

async function startNatsClusterOnce(): Promise<NatsCluster> {
  installExitHook();
  const root = mkdtempSync(join(tmpdir(), 'tidings-nats-cluster-'));
  scratch.add(root);
  const clusterName = `tidings-${process.pid}-${Date.now()}`;
  const plans = [await planNode(root, 'n1', true), await planNode(root, 'n2', true), await planNode(root, 'n3', true)];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  plans.forEach((plan, i) => {
    const routes = routePorts.filter((_, j) => j !== i);
    writeFileSync(plan.configFile, configText(plan, { name: clusterName, port: routePorts[i] ?? 0, routes }));
  });
  const nodes = plans.map((plan) => createNode(plan) as NatsNode & { start(): Promise<void> });
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(root, { recursive: true, force: true });
    scratch.delete(root);
  };
  const ready = async (): Promise<void> => {
    await Promise.all(nodes.filter((node) => node.running).map((node) => node.ready()));
  };
  try {
    // Started together: a clustered JetStream node is healthy only once it sees a meta leader, which needs peers.
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await close();
    throw error;
  }
  const [a, b, c] = nodes;
  if (!a || !b || !c) throw new Error('a cluster has three nodes');
  return { nodes: [a, b, c], urls: nodes.map((node) => node.url), ready, close };
}
