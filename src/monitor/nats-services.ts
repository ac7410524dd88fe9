import type { TracerProvider } from '@opentelemetry/api';
import {
  createNatsEventService,
  type NatsEventService,
  type NatsEventServiceOptions,
} from '../backends/nats/nats-event-service.js';
import type { Codec } from '../core/codec.js';
import type { Logger } from '../core/logger.js';
import { ingestCodec, storageCodec } from './codec.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

/** The default NATS subject of ingest monitor events. */
export const DEFAULT_INGEST_SUBJECT = 'enduro.ingest.events';
/** The default NATS subject of storage monitor events. */
export const DEFAULT_STORAGE_SUBJECT = 'enduro.storage.events';

/**
 * Where a monitor service finds NATS, plus the core NATS backend's tuning
 * options.
 */
export interface NatsConfig
  extends Partial<
    Omit<NatsEventServiceOptions<never>, 'natsAddress' | 'codec' | 'logger' | 'tracerProvider' | 'eventType'>
  > {
  /** `nats://host:port`, several comma-separated (or a list) for a cluster. */
  natsAddress: string | readonly string[];
  /** @default "enduro.ingest.events" (ingest) / "enduro.storage.events" (storage) */
  subject?: string;
}

function monitorService<E extends { type: string }>(
  codec: Codec<E>,
  defaultSubject: string,
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsConfig,
): NatsEventService<E> {
  return createNatsEventService({
    ...config,
    subject: config.subject ?? defaultSubject,
    codec,
    eventType: (event) => event.type,
    logger,
    tracerProvider,
  });
}

/**
 * Ingest monitor events over core NATS, with the same codec as the Redis
 * wire: a message's payload is byte for byte what
 * {@link newIngestEventServiceRedis} publishes for the same event (trace
 * context rides in NATS headers instead of body fields). Incoming messages
 * are validated; invalid ones are logged, counted and skipped.
 *
 * @param logger pino-compatible; `undefined` logs nothing.
 * @param tracerProvider OpenTelemetry provider; `undefined` uses the global one.
 * @throws {ConfigError} when `config.natsAddress` or `config.subject` is malformed.
 */
export function newIngestEventServiceNats(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsConfig,
): NatsEventService<MonitorEvent> {
  return monitorService(ingestCodec, DEFAULT_INGEST_SUBJECT, logger, tracerProvider, config);
}

/** Storage monitor events over core NATS; see {@link newIngestEventServiceNats}. */
export function newStorageEventServiceNats(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsConfig,
): NatsEventService<StorageMonitorEvent> {
  return monitorService(storageCodec, DEFAULT_STORAGE_SUBJECT, logger, tracerProvider, config);
}
