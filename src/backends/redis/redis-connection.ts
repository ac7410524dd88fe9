import { Redis, type RedisOptions } from 'ioredis';

/** The few commands and events Tidings uses on a publishing connection. */
export type PublisherConnection = Pick<Redis, 'publish' | 'quit' | 'disconnect' | 'status' | 'on' | 'once' | 'off'>;

/** The few commands and events Tidings uses on a subscriber connection. */
export type SubscriberConnection = Pick<
  Redis,
  'subscribe' | 'unsubscribe' | 'quit' | 'disconnect' | 'status' | 'on' | 'once' | 'off'
>;

/** Reconnect delays: exponential from 50 ms, capped at 2 s, with jitter so a fleet doesn't reconnect in step. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(base * (0.5 + Math.random() / 2));
}

/**
 * The publishing connection. Commands issued in one tick go out in one write
 * (auto-pipelining); nothing waits in ioredis' unbounded offline queue, since
 * the service keeps its own bounded wait for readiness. No per-command
 * timeout: a publish already written is not retracted, and counting it as
 * failed because a burst queued behind it would misreport what was delivered.
 */
export function openPublisher(options: RedisOptions): PublisherConnection {
  return new Redis({
    ...options,
    lazyConnect: false,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    connectionName: 'tidings-publisher',
  });
}

/**
 * The one subscriber connection of a service. Resubscription is the
 * service's job (it must tell subscribers about the gap), not ioredis'.
 */
export function openSubscriber(options: RedisOptions): SubscriberConnection {
  return new Redis({
    ...options,
    lazyConnect: false,
    autoResubscribe: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
    connectionName: 'tidings-subscriber',
  });
}
