import { Redis, type RedisOptions } from 'ioredis';
import type { PipelineFallback } from '../redis/batch-publisher.js';
import { type BatchingConnection, reconnectDelay } from '../redis/redis-connection.js';

/** How a service bounds its stream, as XADD and XTRIM arguments. */
export interface TrimArguments {
  /** `~` (Redis trims whole macro nodes, lazily) or `=` (exact). */
  readonly operator: '~' | '=';
  /** MAXLEN, or undefined for no count bound. */
  readonly maxLen: number | undefined;
  /** Entries older than this many milliseconds go (MINID), or undefined. */
  readonly maxAgeMs: number | undefined;
}

/**
 * Appends each text as an entry `m` in order. Trimming comes first, once per
 * batch, never between the batch's own entries: a reader blocked in XREAD is
 * served right after the script, so it gets every entry of a batch even when
 * the batch is larger than the bound. The stream holds at most the bound
 * plus one batch. KEYS[1] the stream; ARGV: operator, MAXLEN ('' for none),
 * MINID ('' for none), texts…
 */
const APPEND_EACH = `local key, op, maxlen, minid = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if maxlen ~= '' then redis.call('XTRIM', key, 'MAXLEN', op, maxlen) end
if minid ~= '' then redis.call('XTRIM', key, 'MINID', op, minid) end
local added = {}
for i = 4, #ARGV do
  redis.call('XADD', key, '*', 'm', ARGV[i])
  added[i - 3] = 1
end
return added`;

/** The command connection: appends (batched), replay reads, stream info. */
export type CommandConnection = Redis & {
  tidingsAppend(key: string, op: string, maxLen: string, minId: string, ...texts: string[]): Promise<number[]>;
};

/**
 * Opens the command connection, configured as the pub/sub publisher is
 * (no offline queue, no resend: the service bounds its own waiting and
 * never appends twice).
 */
export function openCommands(options: RedisOptions): CommandConnection {
  const redis = new Redis({
    ...options,
    lazyConnect: false,
    enableAutoPipelining: false,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    connectionName: 'tidings-stream-commands',
  });
  redis.defineCommand('tidingsAppend', { numberOfKeys: 1, lua: APPEND_EACH });
  return redis as CommandConnection;
}

/** The smallest ID an entry younger than `maxAgeMs` can have. */
function minIdFor(maxAgeMs: number): string {
  return `${Math.max(0, Date.now() - maxAgeMs)}-0`;
}

/** What a {@link BatchPublisher} needs, appending to a stream instead of publishing. */
export function appending(connection: CommandConnection, trim: TrimArguments): BatchingConnection {
  const maxLen = trim.maxLen === undefined ? '' : String(trim.maxLen);
  return {
    pipeline: () => connection.pipeline(),
    tidingsPublish: (key, ...texts) =>
      connection.tidingsAppend(
        key,
        trim.operator,
        maxLen,
        trim.maxAgeMs === undefined ? '' : minIdFor(trim.maxAgeMs),
        ...texts,
      ),
  };
}

/** Where scripts are refused: one XADD per event, trimming by count, or by age when that is the only bound. */
export function appendFallback(trim: TrimArguments): PipelineFallback {
  return {
    queue: (pipeline, key, text) => {
      if (trim.maxLen !== undefined) pipeline.xadd(key, 'MAXLEN', trim.operator, trim.maxLen, '*', 'm', text);
      else if (trim.maxAgeMs !== undefined)
        pipeline.xadd(key, 'MINID', trim.operator, minIdFor(trim.maxAgeMs), '*', 'm', text);
      else pipeline.xadd(key, '*', 'm', text);
    },
    count: () => 1,
  };
}

/**
 * The one reading connection of a service: nothing but XREAD BLOCK and the
 * checks after a reconnect. Commands wait while it reconnects (the service
 * stops waiting for one lost with the connection itself).
 */
export function openReader(options: RedisOptions): Redis {
  return new Redis({
    ...options,
    lazyConnect: false,
    enableAutoPipelining: false,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
    connectionName: 'tidings-stream-reader',
  });
}
