import type { TracerProvider } from '@opentelemetry/api';
import {
  createRedisEventService,
  type RedisEventService,
  type RedisEventServiceOptions,
} from '../backends/redis/redis-event-service.js';
import type { Codec } from '../core/codec.js';
import type { Logger } from '../core/logger.js';
import { ingestCodec, storageCodec } from './codec.js';
import type { MonitorEvent, StorageMonitorEvent } from './schemas.js';

/** Enduro's default ingest events channel. */
export const DEFAULT_INGEST_CHANNEL = 'enduro-ingest-events';
/** Enduro's default storage events channel. */
export const DEFAULT_STORAGE_CHANNEL = 'enduro-storage-events';

/** The seed's constructor shape over the generic Redis service, for one union. */
function monitorService<E extends { type: string }>(
  codec: Codec<E>,
  defaultChannel: string,
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisConfig,
): RedisEventService<E> {
  return createRedisEventService({
    ...config,
    redisChannel: config.redisChannel ?? defaultChannel,
    codec,
    eventType: (event) => event.type,
    logger,
    tracerProvider,
  });
}

/**
 * Where a monitor service finds Redis: the seed's `Config`, plus the Redis
 * backend's tuning options.
 */
export interface RedisConfig
  extends Partial<
    Omit<RedisEventServiceOptions<never>, 'redisAddress' | 'codec' | 'logger' | 'tracerProvider' | 'eventType'>
  > {
  /** `redis://[user[:password]@]host[:port][/db]` or `rediss://…`. */
  redisAddress: string;
  /** @default "enduro-ingest-events" (ingest) / "enduro-storage-events" (storage) */
  redisChannel?: string;
}

/**
 * Ingest monitor events over Redis pub/sub, on Enduro's channel and wire
 * format: what Enduro's Go services publish arrives here and the reverse.
 * Incoming messages are validated; invalid ones are logged, counted and skipped.
 *
 * @param logger pino-compatible; `undefined` logs nothing.
 * @param tracerProvider OpenTelemetry provider; `undefined` uses the global one.
 * @throws {ConfigError} when `config.redisAddress` is malformed.
 * @example
 * ```ts
 * const ingest = newIngestEventServiceRedis(pino(), undefined, { redisAddress: 'redis://127.0.0.1:6379' });
 * ```
 */
export function newIngestEventServiceRedis(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisConfig,
): RedisEventService<MonitorEvent> {
  return monitorService(ingestCodec, DEFAULT_INGEST_CHANNEL, logger, tracerProvider, config);
}

/** Storage monitor events over Redis pub/sub; see {@link newIngestEventServiceRedis}. */
export function newStorageEventServiceRedis(
  logger: Logger | undefined,
  tracerProvider: TracerProvider | undefined,
  config: RedisConfig,
): RedisEventService<StorageMonitorEvent> {
  return monitorService(storageCodec, DEFAULT_STORAGE_CHANNEL, logger, tracerProvider, config);
}
