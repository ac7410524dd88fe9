import { ConfigError } from '../../errors.js';

/**
 * One or more NATS server URLs (`nats://[user[:password]@]host[:port]`, or
 * `tls://`), as a list for the client: a comma-separated string is a list
 * too, the way `tidings --nats` and the `NATS_URL` convention take it.
 * @throws {ConfigError} naming the bad part, never the password.
 */
export function parseNatsAddress(address: string | readonly string[]): string[] {
  const list = typeof address === 'string' ? address.split(',') : [...address];
  const servers = list.map((entry) => (typeof entry === 'string' ? entry.trim() : entry));
  if (servers.length === 0 || servers.every((entry) => entry === '')) {
    throw new ConfigError('the NATS address is empty: expected nats://host:port');
  }
  for (const server of servers) {
    if (typeof server !== 'string' || server === '') {
      throw new ConfigError('the NATS address has an empty entry: expected nats://host:port[,nats://host:port]');
    }
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new ConfigError(`the NATS address ${redactNatsAddress(server)} is not a URL: expected nats://host:port`);
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
      throw new ConfigError(
        `the NATS address ${redactNatsAddress(server)} has scheme ${url.protocol.slice(0, -1)}: expected nats:// or tls://`,
      );
    }
    if (url.hostname === '') throw new ConfigError(`the NATS address ${redactNatsAddress(server)} names no host`);
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      throw new ConfigError(
        `the NATS address ${redactNatsAddress(server)} has a path or query: expected only nats://host:port`,
      );
    }
  }
  return servers;
}

/** The address without its password, for logs and errors. */
export function redactNatsAddress(address: string | readonly string[]): string {
  const list = typeof address === 'string' ? [address] : address;
  return list.map(redactOne).join(',');
}

/**
 * Everything between the user name and the last `@` is hidden, so a password
 * holding a raw `@` or `/` leaks nothing; so is `user:pass@host` without a
 * scheme, which parses as a URL of scheme `user:` and would be echoed in errors.
 */
function redactOne(entry: string): string {
  const text = String(entry);
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = text.indexOf('://');
  const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon > at) return text;
  return `${text.slice(0, colon)}:***${text.slice(at)}`;
}

/** Wildcards and separators a published subject may not have: `*` and `>` match many subjects, whitespace splits the protocol line. */
const TOKEN = /^[^\s*>.]+$/;

/**
 * Checks that `subject` names exactly one NATS subject, which a service both
 * publishes to and listens on: dot-separated non-empty tokens, no wildcard,
 * no whitespace.
 * @throws {ConfigError} naming what is wrong.
 */
export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject === '')
    throw new ConfigError('the NATS subject must be a non-empty string');
  for (const token of subject.split('.')) {
    if (token === '') throw new ConfigError(`the NATS subject ${JSON.stringify(subject)} has an empty token`);
    if (!TOKEN.test(token)) {
      throw new ConfigError(
        `the NATS subject ${JSON.stringify(subject)} has a wildcard or whitespace: a service publishes to one subject`,
      );
    }
  }
  return subject;
}
