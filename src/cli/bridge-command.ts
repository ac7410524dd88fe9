import { Command, Option } from 'commander';
import { type Bridge, createBridge, createPrometheusMetrics, listenBridgeHealth } from '../index.js';
import {
  CommandFailure,
  integer,
  logLevelOption,
  redisOption,
  rememberingErrors,
  shutdownSignal,
  stderrLogger,
  UsageError,
} from './cli-support.js';

/** The subjects Enduro's channels default to on NATS, so `--nats` needs no `--subject` for them. */
const ENDURO_SUBJECTS: ReadonlyMap<string, string> = new Map([
  ['enduro-ingest-events', 'enduro.ingest.events'],
  ['enduro-storage-events', 'enduro.storage.events'],
]);

interface BridgeCommandOptions {
  redis: string;
  channel?: string;
  streamKey?: string;
  nats?: string;
  subject?: string;
  leaseTtl: number;
  maxLen: number;
  maxAge: number;
  port: number;
  host: string;
  id?: string;
  logLevel: string;
}

/** `tidings bridge`: copy a Redis pub/sub channel into a Redis stream, one of two or more bridges sharing a lease. */
export function bridgeCommand(): Command {
  return new Command('bridge')
    .description('copy a Redis pub/sub channel into a Redis stream (run two: one copies, the other stands by)')
    .addOption(redisOption(true))
    .addOption(
      new Option('-c, --channel <name>', 'the pub/sub channel to copy (required)').env('TIDINGS_BRIDGE_CHANNEL'),
    )
    .addOption(
      new Option('--stream-key <key>', 'the stream to copy into (default: the channel name)').env(
        'TIDINGS_BRIDGE_STREAM_KEY',
      ),
    )
    .addOption(
      new Option(
        '--nats <url>',
        'copy into a NATS JetStream stream instead (nats://host:4222, comma-separated for a cluster); the lease stays in Redis',
      ).env('TIDINGS_BRIDGE_NATS_URL'),
    )
    .addOption(
      new Option(
        '--subject <subject>',
        'with --nats: the subject to publish on (default for enduro-ingest-events / enduro-storage-events: enduro.ingest.events / enduro.storage.events)',
      ).env('TIDINGS_BRIDGE_SUBJECT'),
    )
    .addOption(
      new Option(
        '--lease-ttl <ms>',
        'lease expiry; a standby takes over at most 4/3 of this after the active one stops',
      )
        .default(3_000)
        .env('TIDINGS_BRIDGE_LEASE_TTL_MS')
        .argParser(integer('--lease-ttl', 30, 3_600_000)),
    )
    .addOption(
      new Option('--max-len <entries>', 'approximate cap on the stream (XADD MAXLEN ~); 0 for none')
        .default(100_000)
        .env('TIDINGS_BRIDGE_MAX_LEN')
        .argParser(integer('--max-len', 0)),
    )
    .addOption(
      new Option('--max-age <ms>', 'trim entries older than this (XTRIM MINID ~); 0 for none')
        .default(0)
        .env('TIDINGS_BRIDGE_MAX_AGE_MS')
        .argParser(integer('--max-age', 0)),
    )
    .addOption(
      new Option('-p, --port <port>', 'TCP port of /healthz, /readyz and /metrics (0: any free port)')
        .default(9465)
        .env('TIDINGS_BRIDGE_PORT')
        .argParser(integer('--port', 0, 65535)),
    )
    .addOption(
      new Option('--host <address>', 'address the health port listens on')
        .default('127.0.0.1')
        .env('TIDINGS_BRIDGE_HOST'),
    )
    .addOption(new Option('--id <id>', 'this bridge in the lease and in gap records (default: random)'))
    .addOption(logLevelOption('warn'))
    .addHelpText(
      'after',
      `
Each message is copied as it was published, as a stream entry with one field
"m". The bridge holding the lease (key <stream>:bridge-lease) copies; the
others poll it and take over when it expires, writing one gap record (field
"gap") for the window nobody copied. SIGTERM or Ctrl-C releases the lease, so
a standby takes over at once.

With --nats the copies go into the JetStream stream of --subject (named like
the subject with "." as "_", created if missing with the JetStream backend's
defaults), each message body byte for byte; a gap record is a message with an
empty body and a Tidings-Gap header. The bridge must be the stream's only writer.

Examples:
  $ tidings bridge --redis redis://127.0.0.1:6379 --channel enduro-ingest-events
  $ TIDINGS_BRIDGE_CHANNEL=enduro-storage-events tidings bridge --port 9466 --lease-ttl 2000

Into JetStream (subject enduro.ingest.events, stream enduro_ingest_events):
  tidings bridge --channel enduro-ingest-events --nats nats://127.0.0.1:4222`,
    )
    .action(async (options: BridgeCommandOptions) => {
      await runBridge(options);
    });
}

async function runBridge(options: BridgeCommandOptions): Promise<void> {
  const channel = options.channel;
  if (channel === undefined || channel.trim() === '') {
    throw new UsageError('bridge needs --channel <name> (or TIDINGS_BRIDGE_CHANNEL): the pub/sub channel to copy');
  }
  if (options.id !== undefined && !/^[\w.-]{1,64}$/.test(options.id)) {
    throw new UsageError(`--id must be 1 to 64 letters, digits, "_", "." or "-", got ${JSON.stringify(options.id)}`);
  }
  if (options.nats !== undefined && options.streamKey !== undefined) {
    throw new UsageError('--stream-key names a Redis stream; with --nats the destination is --subject');
  }
  if (options.nats === undefined && options.subject !== undefined) {
    throw new UsageError('--subject is for --nats (the JetStream destination)');
  }
  const subject = options.nats === undefined ? undefined : (options.subject ?? ENDURO_SUBJECTS.get(channel));
  if (options.nats !== undefined && subject === undefined) {
    throw new UsageError(
      `bridge --nats needs --subject <subject> (or TIDINGS_BRIDGE_SUBJECT) for channel ${JSON.stringify(channel)}`,
    );
  }
  const streamKey = options.streamKey ?? channel;
  const logger = rememberingErrors(stderrLogger(options.logLevel));
  const metrics = createPrometheusMetrics();
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let bridge: Bridge | undefined;
  bridge = createBridge({
    redisAddress: options.redis,
    channel,
    streamKey,
    ...(options.nats === undefined || subject === undefined
      ? {}
      : { jetStream: { natsAddress: options.nats, subject } }),
    leaseTtlMs: options.leaseTtl,
    maxLen: options.maxLen,
    maxAgeMs: options.maxAge,
    ...(options.id === undefined ? {} : { id: options.id }),
    logger,
    meterProvider: metrics.meterProvider,
    onRoleChange: (role, reason) => say(`bridge ${bridge?.id}: ${role} (${reason})`),
  });
  const stopping = shutdownSignal();
  try {
    await bridge.start();
  } catch (error) {
    await metrics.shutdown();
    throw new CommandFailure(
      options.nats === undefined ? 'cannot connect to Redis' : 'cannot connect to Redis or NATS',
      { cause: error, observed: logger.lastError },
    );
  }
  let health: Awaited<ReturnType<typeof listenBridgeHealth>>;
  try {
    health = await listenBridgeHealth(bridge, { port: options.port, host: options.host, metrics });
  } catch (error) {
    await bridge.close();
    await metrics.shutdown();
    throw new CommandFailure(`cannot listen on ${options.host}:${options.port}`, { cause: error });
  }
  const into = subject === undefined ? `stream ${streamKey}` : `JetStream subject ${subject}`;
  say(`bridge ${bridge.id}: copying channel ${channel} into ${into}; health on ${health.url}/readyz`);
  const signal = await stopping;
  say(`bridge ${bridge.id}: ${signal}, stopping`);
  await bridge.close();
  await health.close();
  await metrics.shutdown();
  say(`bridge ${bridge.id}: stopped`);
}
