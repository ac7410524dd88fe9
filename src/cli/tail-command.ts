import { trace } from '@opentelemetry/api';
import { Command, Option } from 'commander';
import {
  type EventService,
  encodeRedactedStorageEvent,
  INGEST_EVENT_TYPES,
  ingestCodec,
  type MonitorEvent,
  newIngestEventServiceRedis,
  newStorageEventServiceRedis,
  STORAGE_EVENT_TYPES,
  type StorageMonitorEvent,
  type Subscription,
} from '../index.js';
import {
  CommandFailure,
  channelFor,
  integer,
  logLevelOption,
  redisOption,
  rememberingErrors,
  type StreamName,
  shutdownSignal,
  stderrLogger,
  UsageError,
} from './cli-support.js';
import { eventLine } from './event-line.js';
import { monitorServiceOnNats, natsOption, onNats, subjectFor } from './nats-option.js';

interface TailOptions {
  redis: string;
  nats?: string;
  stream: StreamName;
  channel?: string;
  json?: boolean;
  type?: string[];
  buffer: number;
  logLevel: string;
}

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0),
];

/** `tidings tail`: print a Redis channel's events as they arrive. */
export function tailCommand(): Command {
  return new Command('tail')
    .description('print the events published on a Redis channel, one line each')
    .addOption(redisOption(true))
    .addOption(natsOption())
    .addOption(
      new Option('-s, --stream <stream>', 'which event union the channel carries')
        .choices(['ingest', 'storage'])
        .default('ingest'),
    )
    .addOption(
      new Option(
        '-c, --channel <name>',
        'Redis channel (default: $TIDINGS_<STREAM>_CHANNEL, else enduro-<stream>-events)',
      ),
    )
    .option('--json', 'print each event as its wire JSON instead of a readable line')
    .option('-t, --type <types>', 'only these event types (comma-separated, repeatable)', collect)
    .addOption(
      new Option('--buffer <events>', 'events held while the terminal is slow; more are dropped and reported')
        .default(4096)
        .argParser(integer('--buffer', 1)),
    )
    .addOption(logLevelOption('warn'))
    .addHelpText(
      'after',
      `
Storage events are printed without location credentials. Stop with Ctrl-C.

Examples:
  $ tidings tail --redis redis://127.0.0.1:6379
  $ tidings tail --stream storage --json --type aip_status_updated_event,aip_created_event`,
    )
    .action(async (options: TailOptions, command: Command) => {
      await tail(options, onNats(command) ? options.nats : undefined);
    });
}

async function tail(options: TailOptions, nats: string | undefined): Promise<void> {
  const known: readonly string[] = options.stream === 'ingest' ? INGEST_EVENT_TYPES : STORAGE_EVENT_TYPES;
  const wanted = options.type === undefined ? undefined : new Set(options.type);
  for (const type of wanted ?? []) {
    if (!known.includes(type)) {
      throw new UsageError(`--type: "${type}" is not a ${options.stream} event type (known: ${known.join(', ')})`);
    }
  }
  const logger = rememberingErrors(stderrLogger(options.logLevel));
  const channel =
    nats === undefined ? channelFor(options.stream, options.channel) : subjectFor(options.stream, options.channel);
  const config = { redisAddress: options.redis, redisChannel: channel };
  const tracerProvider = trace.getTracerProvider();
  const service: EventService<MonitorEvent | StorageMonitorEvent> =
    nats !== undefined
      ? monitorServiceOnNats(options.stream, logger, tracerProvider, nats, channel)
      : options.stream === 'ingest'
        ? newIngestEventServiceRedis(logger, tracerProvider, config)
        : newStorageEventServiceRedis(logger, tracerProvider, config);
  // Ctrl-C at any point, even while still connecting, closes the service: that ends the loop below, and nothing is left to report.
  let stopping = false;
  void shutdownSignal().then(() => {
    stopping = true;
    return service.close();
  });
  let sub: Subscription<MonitorEvent | StorageMonitorEvent>;
  try {
    sub = await service.subscribe({ bufferSize: options.buffer });
  } catch (error) {
    await service.close();
    if (stopping) return;
    throw new CommandFailure(`cannot subscribe to ${channel}`, { cause: error, observed: logger.lastError });
  }
  process.stderr.write(`tailing ${channel} (${options.stream} events); Ctrl-C to stop\n`);

  const toText =
    options.stream === 'ingest'
      ? (event: MonitorEvent | StorageMonitorEvent) => ingestCodec.encode(event as MonitorEvent)
      : (event: MonitorEvent | StorageMonitorEvent) => encodeRedactedStorageEvent(event as StorageMonitorEvent);
  for await (const event of sub) {
    const gap = sub.takeGap();
    if (gap !== undefined) {
      const broker = nats === undefined ? 'Redis' : 'NATS';
      const why = gap.reason === 'reconnect' ? `${broker} reconnected` : `${gap.dropped} dropped, output too slow`;
      process.stderr.write(`! events may have been missed (${why})\n`);
    }
    if (wanted !== undefined && !wanted.has(event.type)) continue;
    // Readable lines show names and statuses only, never a location's config.
    const line = options.json ? toText(event) : eventLine(event);
    if (!process.stdout.write(`${line}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
  await service.close();
}
