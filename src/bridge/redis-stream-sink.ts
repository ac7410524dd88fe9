import type { Redis } from 'ioredis';
import type { BridgeSink, GapRecord, SinkOutcome } from './sink.js';
import { gapRecordText } from './sink.js';

/**
 * Appends every value as an entry with one field, only while the lease key
 * names this bridge (else -1 and nothing written), trimming as configured.
 * KEYS: lease, stream. ARGV: holder, max length (0: none), max age in ms
 * (0: none), field, values... The script runs atomically, so no other
 * bridge can take the lease between the check and the appends.
 */
const FENCED_XADD = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local maxLen = ARGV[2]
for i = 5, #ARGV do
  if maxLen ~= '0' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxLen, '*', ARGV[4], ARGV[i])
  else
    redis.call('XADD', KEYS[2], '*', ARGV[4], ARGV[i])
  end
end
if ARGV[3] ~= '0' then
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('XTRIM', KEYS[2], 'MINID', '~', tostring(ms - tonumber(ARGV[3])))
end
return #ARGV - 4`;

/** The commands a {@link RedisStreamSink} needs: ioredis with its script defined (see {@link defineSinkCommands}). */
export interface StreamSinkConnection extends Pick<Redis, 'xrevrange'> {
  tidingsFencedXadd(
    leaseKey: string,
    streamKey: string,
    holder: string,
    maxLen: number,
    maxAgeMs: number,
    field: string,
    ...values: (string | Buffer)[]
  ): Promise<number>;
}

/** Defines the sink's script on `redis` (sent as EVALSHA, the script itself once per connection). */
export function defineSinkCommands(redis: Redis): Redis & StreamSinkConnection {
  redis.defineCommand('tidingsFencedXadd', { numberOfKeys: 2, lua: FENCED_XADD });
  return redis as Redis & StreamSinkConnection;
}

/** Where and how long a Redis stream sink keeps entries. */
export interface RedisStreamSinkOptions {
  readonly streamKey: string;
  readonly leaseKey: string;
  /** The lease value of this bridge: writes go in only while the lease key holds it. */
  readonly holder: string;
  /** Approximate cap on entries (`MAXLEN ~`); 0 for none. */
  readonly maxLen: number;
  /** Entries older than this are trimmed (`MINID ~`); 0 for none. */
  readonly maxAgeMs: number;
}

/**
 * A Redis stream as a bridge's destination, in the shared entry format: an
 * event is one field `m` holding the message text exactly as published, a gap
 * record one field `gap` holding its JSON.
 */
export class RedisStreamSink implements BridgeSink {
  readonly #redis: StreamSinkConnection;
  readonly #options: RedisStreamSinkOptions;

  constructor(redis: StreamSinkConnection, options: RedisStreamSinkOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  writeEvents(payloads: readonly Buffer[]): Promise<SinkOutcome> {
    return this.#append('m', payloads);
  }

  writeGap(gap: GapRecord): Promise<SinkOutcome> {
    return this.#append('gap', [gapRecordText(gap)]);
  }

  async lastEntryTime(): Promise<Date | undefined> {
    const [last] = await this.#redis.xrevrange(this.#options.streamKey, '+', '-', 'COUNT', 1);
    if (last === undefined) return undefined;
    return new Date(Number(last[0].split('-')[0]));
  }

  async #append(field: string, values: readonly (string | Buffer)[]): Promise<SinkOutcome> {
    const { leaseKey, streamKey, holder, maxLen, maxAgeMs } = this.#options;
    const written = await this.#redis.tidingsFencedXadd(
      leaseKey,
      streamKey,
      holder,
      maxLen,
      maxAgeMs,
      field,
      ...values,
    );
    return written < 0 ? 'fenced' : 'written';
  }
}
