import type { TracerProvider } from '@opentelemetry/api';
import {
  createRedisStreamEventService,
  type RedisStreamEventService,
  type RedisStreamEventServiceOptions,
} from '../backends/redis-stream/redis-stream-event-service.js';
import type { Codec } from '../core/codec.js';
import type { Logger } from '../core/logger.js';
import { ingestCodec, storageCodec } from './codec.js';
import { DEFAULT_INGEST_CHANNEL, DEFAULT_STORAGE_CHANNEL } from './redis-services.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

/**
 * Where a monitor service finds its Redis stream: the address, the stream
 * key (Enduro's channel name by default, so a bridge from the channel needs
 * no configuration), and the Streams backend's tuning options.
 */
export interface RedisStreamConfig
  extends Partial<
    Omit<RedisStreamEventServiceOptions<never>, 'redisAddress' | 'codec' | 'logger' | 'tracerProvider' | 'eventType'>
  > {
  /** `redis://[user[:password]@]host[:port][/db]` or `rediss://…`. */
  redisAddress: string;
  /** @default "enduro-ingest-events" (ingest) / "enduro-storage-events" (storage) */
  streamKey?: string;
}

function monitorStream<E extends { type: string }>(
  codec: Codec<E>,
  defaultKey: string,
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisStreamConfig,
): RedisStreamEventService<E> {
  return createRedisStreamEventService({
    ...config,
    streamKey: config.streamKey ?? defaultKey,
    codec,
    eventType: (event) => event.type,
    logger,
    tracerProvider,
  });
}

/**
 * Ingest monitor events on a Redis stream: the same wire text as
 * {@link newIngestEventServiceRedis}, kept for replay (`subscribe({ from })`).
 *
 * @param logger pino-compatible; `undefined` logs nothing.
 * @param tracerProvider OpenTelemetry provider; `undefined` uses the global one.
 * @throws {ConfigError} when `config.redisAddress` is malformed.
 * @example
 * ```ts
 * const ingest = newIngestEventServiceRedisStream(pino(), undefined, { redisAddress: 'redis://127.0.0.1:6379' });
 * ```
 */
export function newIngestEventServiceRedisStream(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisStreamConfig,
): RedisStreamEventService<MonitorEvent> {
  return monitorStream(ingestCodec, DEFAULT_INGEST_CHANNEL, logger, tracerProvider, config);
}

/** Storage monitor events on a Redis stream; see {@link newIngestEventServiceRedisStream}. */
export function newStorageEventServiceRedisStream(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisStreamConfig,
): RedisStreamEventService<StorageMonitorEvent> {
  return monitorStream(storageCodec, DEFAULT_STORAGE_CHANNEL, logger, tracerProvider, config);
}
