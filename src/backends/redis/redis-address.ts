import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors.js';

/** How to write a password the URL syntax would otherwise cut apart. */
const ENCODE_HINT = 'percent-encode "/", "?", "#", "@" and "%" in a user name or password (e.g. "/" as %2F)';

/**
 * Connection options from a Redis URL: `redis://[user[:password]@]host[:port][/db]`,
 * or `rediss://` for TLS. Throws a {@link ConfigError} naming the bad part, so a
 * typo fails at construction rather than as a reconnect loop later. No error
 * it throws carries the password, nor a `cause` that does.
 */
export function parseRedisAddress(address: string): RedisOptions {
  if (typeof address !== 'string' || address.trim() === '') {
    throw new ConfigError('redisAddress is required, e.g. "redis://127.0.0.1:6379/0"');
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    // Node's URL error keeps the whole input (`error.input`): it is not passed on as the cause.
    const hint = address.includes('@') ? `; ${ENCODE_HINT}` : '';
    throw new ConfigError(`redisAddress is not a valid URL: ${JSON.stringify(redact(address))}${hint}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`redisAddress scheme "${url.protocol}" is not supported: use redis:// or rediss://`);
  }
  // An "@" past the host means a raw "/", "?" or "#" in the password ended the user info early:
  // the rest of the password would be read as port, database or fragment, and shown as such.
  if (`${url.pathname}${url.search}${url.hash}`.includes('@')) {
    throw new ConfigError(`redisAddress has an "@" after its host: ${ENCODE_HINT}`);
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
  if (url.username !== '') options.username = decodeUserInfo(url.username, 'user name');
  if (url.password !== '') options.password = decodeUserInfo(url.password, 'password');
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}

function decodeUserInfo(encoded: string, part: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ConfigError(`redisAddress ${part} is not valid percent-encoding: ${ENCODE_HINT}`);
  }
}

/**
 * The address with its password masked, for messages and logs. Works on any
 * text, URL or not: everything between the first ":" of the user info and
 * the last "@" is masked, so a password holding "/", "@", "#" or spaces
 * is masked whole.
 */
export function redact(address: string): string {
  // Only Redis' own schemes count as one: in "user://pass@host" the "//" may be the password's.
  const scheme = /^rediss?:\/\//i.exec(address)?.[0] ?? '';
  const rest = address.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return address;
  const colon = rest.indexOf(':');
  if (colon < 0 || colon > at) return address; // a user name alone: nothing secret
  return `${scheme}${rest.slice(0, colon)}:***${rest.slice(at)}`;
}
