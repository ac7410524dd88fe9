import type { TracerProvider } from '@opentelemetry/api';
import {
  createNatsStreamEventService,
  type NatsStreamEventService,
  type NatsStreamEventServiceOptions,
} from '../backends/nats-stream/nats-stream-event-service.js';
import type { Codec } from '../core/codec.js';
import type { Logger } from '../core/logger.js';
import { ingestCodec, storageCodec } from './codec.js';
import { DEFAULT_INGEST_SUBJECT, DEFAULT_STORAGE_SUBJECT } from './nats-services.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

/**
 * Where a monitor service finds JetStream: the address, plus the JetStream
 * backend's stream and tuning options.
 */
export interface NatsStreamConfig
  extends Partial<Omit<NatsStreamEventServiceOptions<never>, 'codec' | 'logger' | 'tracerProvider' | 'eventType'>> {
  /** `nats://host:port`, or several servers of one cluster (a list, or comma-separated). */
  natsAddress: string | readonly string[];
  /** @default "enduro.ingest.events" (ingest) / "enduro.storage.events" (storage) */
  subject?: string;
}

function monitorService<E extends { type: string }>(
  codec: Codec<E>,
  defaultSubject: string,
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsStreamConfig,
): NatsStreamEventService<E> {
  return createNatsStreamEventService({
    ...config,
    subject: config.subject ?? defaultSubject,
    codec,
    eventType: (event) => event.type,
    logger,
    tracerProvider,
  });
}

/**
 * Ingest monitor events on a JetStream stream, in the same wire format as on
 * Redis (byte for byte the message text Enduro's Go services publish), with
 * replay from a position. Incoming messages are validated; invalid ones are
 * logged, counted and skipped.
 *
 * @param logger pino-compatible; `undefined` logs nothing.
 * @param tracerProvider OpenTelemetry provider; `undefined` uses the global one.
 * @throws {ConfigError} for a subject with wildcards.
 */
export function newIngestEventServiceNatsStream(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsStreamConfig,
): NatsStreamEventService<MonitorEvent> {
  return monitorService(ingestCodec, DEFAULT_INGEST_SUBJECT, logger, tracerProvider, config);
}

/** Storage monitor events on a JetStream stream; see {@link newIngestEventServiceNatsStream}. */
export function newStorageEventServiceNatsStream(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: NatsStreamConfig,
): NatsStreamEventService<StorageMonitorEvent> {
  return monitorService(storageCodec, DEFAULT_STORAGE_SUBJECT, logger, tracerProvider, config);
}
