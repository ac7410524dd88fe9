import type { TracerProvider } from '@opentelemetry/api';
import { type Command, Option } from 'commander';
import {
  DEFAULT_INGEST_SUBJECT,
  DEFAULT_STORAGE_SUBJECT,
  type EventService,
  type Logger,
  type MonitorEvent,
  newIngestEventServiceNats,
  newStorageEventServiceNats,
  type StorageMonitorEvent,
} from '../index.js';
import { type StreamName, UsageError } from './cli-support.js';

/** `--nats <url>`, also from `TIDINGS_NATS_URL`: the events are on core NATS subjects instead of Redis channels. */
export function natsOption(): Option {
  return new Option(
    '--nats <url>',
    'use core NATS instead of Redis: nats://host:4222 (comma-separated for a cluster); subjects default to enduro.<stream>.events',
  ).env('TIDINGS_NATS_URL');
}

/**
 * Whether the command runs on NATS: `--nats` given and no Redis address
 * given on the same level (command line or environment). The command line
 * wins over the environment; both on one level is an error.
 */
export function onNats(command: Command, redisOption = 'redis'): boolean {
  const nats = command.getOptionValueSource('nats');
  if (nats === undefined) return false;
  const redis = command.getOptionValueSource(redisOption);
  if (redis === nats) {
    const [natsName, redisName] = nats === 'env' ? ['TIDINGS_NATS_URL', 'TIDINGS_REDIS_URL'] : ['--nats', '--redis'];
    throw new UsageError(`${natsName} and ${redisName} name two backends: choose one`);
  }
  return redis !== 'cli' || nats === 'cli';
}

/** The subject of `stream`: the one given (a channel option, which names the subject on NATS), else the default. */
export function subjectFor(stream: StreamName, explicit: string | undefined): string {
  return explicit ?? (stream === 'ingest' ? DEFAULT_INGEST_SUBJECT : DEFAULT_STORAGE_SUBJECT);
}

/** The monitor service of `stream` on NATS. */
export function monitorServiceOnNats(
  stream: StreamName,
  logger: Logger,
  tracerProvider: TracerProvider,
  natsAddress: string,
  subject: string,
): EventService<MonitorEvent> | EventService<StorageMonitorEvent> {
  const config = { natsAddress, subject };
  return stream === 'ingest'
    ? newIngestEventServiceNats(logger, tracerProvider, config)
    : newStorageEventServiceNats(logger, tracerProvider, config);
}
