import { trace } from '@opentelemetry/api';
import { Command, Option } from 'commander';
import {
  type DecodeError,
  type DecodeResult,
  type EventService,
  ingestCodec,
  type MonitorEvent,
  newIngestEventServiceRedis,
  newStorageEventServiceRedis,
  type StorageMonitorEvent,
  storageCodec,
} from '../index.js';
import {
  CommandFailure,
  channelFor,
  logLevelOption,
  redisOption,
  rememberingErrors,
  type StreamName,
  stderrLogger,
  UsageError,
} from './cli-support.js';
import { monitorServiceOnNats, natsOption, onNats, subjectFor } from './nats-option.js';

interface PublishOptions {
  redis: string;
  nats?: string;
  stream?: StreamName;
  channel?: string;
  logLevel: string;
}

type Decoded =
  | { stream: 'ingest'; event: MonitorEvent }
  | { stream: 'storage'; event: StorageMonitorEvent }
  | { stream: StreamName; error: DecodeError };

/** Decodes with the stream's codec, or (no stream given) with whichever union knows the type. */
export function decodeEvent(text: string, stream: StreamName | undefined): Decoded {
  const asIngest = (): DecodeResult<MonitorEvent> => ingestCodec.decode(text);
  const asStorage = (): DecodeResult<StorageMonitorEvent> => storageCodec.decode(text);
  if (stream === 'storage') {
    const r = asStorage();
    return r.ok ? { stream, event: r.event } : { stream, error: r.error };
  }
  const ingest = asIngest();
  if (ingest.ok) return { stream: 'ingest', event: ingest.event };
  if (stream === undefined && ingest.error.reason === 'unknown-type') {
    const storage = asStorage();
    if (storage.ok) return { stream: 'storage', event: storage.event };
    // Report the storage codec's view unless neither union knows the type.
    if (storage.error.reason !== 'unknown-type') return { stream: 'storage', error: storage.error };
  }
  return { stream: 'ingest', error: ingest.error };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no event given: pass it as an argument or pipe it on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `tidings publish`: validate an event and publish it on Redis. */
export function publishCommand(): Command {
  return new Command('publish')
    .description('validate one event (wire JSON) and publish it on a Redis channel')
    .argument('[event]', 'the event\'s wire JSON, {"value":{"type":…,"value":{…}}}; omitted or "-": read stdin')
    .addOption(redisOption(true))
    .addOption(natsOption())
    .addOption(
      new Option('-s, --stream <stream>', 'the event union (default: the one that knows the event type)').choices([
        'ingest',
        'storage',
      ]),
    )
    .addOption(
      new Option(
        '-c, --channel <name>',
        'Redis channel (default: $TIDINGS_<STREAM>_CHANNEL, else enduro-<stream>-events)',
      ),
    )
    .addOption(logLevelOption('warn'))
    .addHelpText(
      'after',
      `
The event is validated against the monitor catalogue first; an invalid event
is not published and the command exits with status 1 and the reason.

Examples:
  $ tidings publish '{"value":{"type":"sip_status_updated_event","value":{"uuid":"5c3e2a8e-1d3f-4b5a-9c7e-2f6a8b0d4e11","status":"ingested"}}}'
  $ echo '{"value":{"type":"aip_status_updated_event","value":{"uuid":"0b9d7c52-6e1a-4f38-8d2c-7a5e3f1b9c40","status":"stored"}}}' | tidings publish --redis redis://127.0.0.1:6379/0 -`,
    )
    .action(async (eventArg: string | undefined, options: PublishOptions, command: Command) => {
      await publish(eventArg, options, onNats(command) ? options.nats : undefined);
    });
}

async function publish(eventArg: string | undefined, options: PublishOptions, nats: string | undefined): Promise<void> {
  const text = eventArg === undefined || eventArg === '-' ? await readStdin() : eventArg;
  const decoded = decodeEvent(text, options.stream);
  if ('error' in decoded) {
    const { error } = decoded;
    const where = error.path === undefined ? '' : ` at ${error.path}`;
    throw new UsageError(`invalid event (${error.reason}${where}): ${error.message}; nothing was published`);
  }
  const logger = rememberingErrors(stderrLogger(options.logLevel));
  const channel =
    nats === undefined ? channelFor(decoded.stream, options.channel) : subjectFor(decoded.stream, options.channel);
  const config = { redisAddress: options.redis, redisChannel: channel };
  const tracerProvider = trace.getTracerProvider();
  const publishConfirmed = async <T>(service: EventService<T>, event: T): Promise<number> => {
    try {
      return await service.publishConfirmed(event);
    } catch (error) {
      throw new CommandFailure(`cannot publish to ${channel}`, { cause: error, observed: logger.lastError });
    } finally {
      await service.close();
    }
  };
  if (nats !== undefined) {
    // Core NATS reports no receiver count: the server's acknowledgement is all there is to say.
    const service = monitorServiceOnNats(decoded.stream, logger, tracerProvider, nats, channel);
    await publishConfirmed(service as EventService<MonitorEvent | StorageMonitorEvent>, decoded.event);
    process.stdout.write(`published ${decoded.event.type} to ${channel} (NATS acknowledged)\n`);
    return;
  }
  const receivers =
    decoded.stream === 'ingest'
      ? await publishConfirmed(newIngestEventServiceRedis(logger, tracerProvider, config), decoded.event)
      : await publishConfirmed(newStorageEventServiceRedis(logger, tracerProvider, config), decoded.event);
  process.stdout.write(
    `published ${decoded.event.type} to ${channel} (${receivers} receiver${receivers === 1 ? '' : 's'})\n`,
  );
}
