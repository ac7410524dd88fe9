import { Redis, type RedisOptions } from 'ioredis';

/** What a batch publisher needs of its connection. */
export interface BatchingConnection extends Pick<Redis, 'pipeline'> {
  /** PUBLISHes each text to `channel` in order, in one command; resolves with each one's receivers. */
  tidingsPublish(channel: string, ...texts: string[]): Promise<number[]>;
}

/** The few commands and events Tidings uses on a publishing connection. */
export type PublisherConnection = BatchingConnection &
  Pick<Redis, 'quit' | 'disconnect' | 'status' | 'on' | 'once' | 'off'>;

/** The script behind {@link BatchingConnection.tidingsPublish}. */
const PUBLISH_EACH = `local receivers = {}
for i = 2, #ARGV do receivers[i - 1] = redis.call('PUBLISH', ARGV[1], ARGV[i]) end
return receivers`;

/** The few commands and events Tidings uses on a subscriber connection. */
export type SubscriberConnection = Pick<
  Redis,
  'subscribe' | 'unsubscribe' | 'ping' | 'quit' | 'disconnect' | 'status' | 'on' | 'once' | 'off'
>;

/** Reconnect delays: exponential from 50 ms, capped at 2 s, with jitter so a fleet doesn't reconnect in step. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(base * (0.5 + Math.random() / 2));
}

/**
 * The publishing connection. Nothing waits in ioredis' unbounded offline
 * queue, since the service keeps its own bounded wait for readiness; no
 * auto-pipelining, since the service batches publishes itself; nothing
 * unanswered is resent after a reconnect, since the service has already
 * failed it (a resend could publish it twice). No per-command timeout: a
 * burst queued behind a slow command would be miscounted as failed; the
 * batcher instead fails what is unanswered when Redis answers nothing at all.
 */
export function openPublisher(options: RedisOptions): PublisherConnection {
  const redis = new Redis({
    ...options,
    lazyConnect: false,
    enableAutoPipelining: false,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    connectionName: 'tidings-publisher',
  });
  // ioredis sends EVALSHA, and the script itself once per connection or after SCRIPT FLUSH.
  redis.defineCommand('tidingsPublish', { numberOfKeys: 0, lua: PUBLISH_EACH });
  return redis as Redis & BatchingConnection;
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
