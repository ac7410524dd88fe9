import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors.js';

/**
 * Connection options from a Redis URL: `redis://[user[:password]@]host[:port][/db]`,
 * or `rediss://` for TLS. Throws a {@link ConfigError} naming the bad part, so a
 * typo fails at construction rather than as a reconnect loop later.
 */
export function parseRedisAddress(address: string): RedisOptions {
  if (typeof address !== 'string' || address.trim() === '') {
    throw new ConfigError('redisAddress is required, e.g. "redis://127.0.0.1:6379/0"');
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch (cause) {
    throw new ConfigError(`redisAddress is not a valid URL: ${JSON.stringify(redact(address))}`, { cause });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`redisAddress scheme "${url.protocol}" is not supported: use redis:// or rediss://`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ConfigError('redisAddress has no host');
  let port = 6379;
  if (url.port !== '') {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`redisAddress port "${url.port}" is not a valid port`);
    }
  }
  let db = 0;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    if (!/^\d+$/.test(path)) throw new ConfigError(`redisAddress database "${path}" is not a non-negative integer`);
    db = Number(path);
  }
  const options: RedisOptions = { host, port, db };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}

/** The address with its password masked, for messages and logs. */
export function redact(address: string): string {
  return address.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
