import type { Redis } from 'ioredis';

/**
 * Renews only while the key still names this holder: a bridge whose lease
 * expired (it hung, the network split) must never extend a lease another
 * bridge has taken since.
 */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Deletes the key only while it names this holder, for the same reason. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The commands a {@link RedisLease} needs: ioredis with its two scripts defined (see {@link defineLeaseCommands}). */
export interface LeaseConnection extends Pick<Redis, 'set' | 'get'> {
  tidingsLeaseRenew(key: string, holder: string, ttlMs: number): Promise<number>;
  tidingsLeaseRelease(key: string, holder: string): Promise<number>;
}

/** Defines the lease's scripts on `redis` (sent as EVALSHA, the script itself once per connection). */
export function defineLeaseCommands(redis: Redis): Redis & LeaseConnection {
  redis.defineCommand('tidingsLeaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('tidingsLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
  return redis as Redis & LeaseConnection;
}

/**
 * A lease in one Redis key with an expiry: whoever's value the key holds may
 * write. Acquire is `SET NX PX`, so at most one holder at a time; the holder
 * renews well before the expiry; a holder that stops renewing (killed, frozen,
 * cut off) loses it after `ttlMs`, and any other candidate may take it then.
 *
 * The lease alone does not stop a frozen holder that wakes up from writing
 * once more: writes must check the holder atomically with the write itself
 * (see the stream sink's fenced XADD).
 */
export class RedisLease {
  readonly key: string;
  /** The value this candidate writes into the key: its id, then host and pid for operators. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly #redis: LeaseConnection;

  constructor(redis: LeaseConnection, key: string, holder: string, ttlMs: number) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
      throw new TypeError(`ttlMs must be a positive integer, got ${ttlMs}`);
    this.#redis = redis;
    this.key = key;
    this.holder = holder;
    this.ttlMs = ttlMs;
  }

  /** Takes the lease if nobody holds it; true when this candidate holds it now. */
  async acquire(): Promise<boolean> {
    const set = await this.#redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX');
    return set === 'OK';
  }

  /** Extends the lease by `ttlMs` from now; false when it is no longer this candidate's (expired or taken). */
  async renew(): Promise<boolean> {
    return (await this.#redis.tidingsLeaseRenew(this.key, this.holder, this.ttlMs)) === 1;
  }

  /** Gives the lease up at once, so a standby need not wait for the expiry; false when it was not held. */
  async release(): Promise<boolean> {
    return (await this.#redis.tidingsLeaseRelease(this.key, this.holder)) === 1;
  }

  /** Who holds the lease now, if anyone (the holder string of that candidate). */
  async current(): Promise<string | undefined> {
    return (await this.#redis.get(this.key)) ?? undefined;
  }
}
