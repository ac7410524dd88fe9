/**
 * What a viewer may see of a URL or a network address held in a location
 * config: where the data lives (scheme, host, port, path), never how to get
 * in (userinfo, query, fragment). Parsed by hand rather than with `URL`,
 * because the inputs are often not valid URLs (`user:pa/ss@host:22`), and a
 * guess about where a malformed userinfo ends is how a password leaks.
 */

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?';
/** A DNS name, an IPv4 address, or a bracketed IPv6 address; then an optional port. */
const HOST_PORT = new RegExp(`^(${LABEL}(?:\\.${LABEL})*\\.?|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`);

interface Located {
  readonly scheme: string;
  readonly hostPort: string;
  readonly path: string;
}

function locate(value: string): Located | undefined {
  const scheme = SCHEME.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const after = end < 0 ? '' : rest.slice(end);
  // An `@` past the authority means the userinfo itself held `/`, `?` or `#`
  // (an unencoded password): where it really ends is a guess, so show nothing.
  if (after.includes('@')) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const query = after.search(/[?#]/);
  const path = query < 0 ? after : after.slice(0, query);
  return { scheme, hostPort, path };
}

/**
 * The viewable part of a URL (`scheme://host[:port]/path`), or `undefined`
 * when `value` has no scheme or its host is not a plain host name or address.
 * `file:///var/aips` has an empty host and stays as it is.
 */
export function viewableUrl(value: string): string | undefined {
  const located = locate(value);
  if (located === undefined || located.scheme === '') return undefined;
  if (located.hostPort !== '' && !HOST_PORT.test(located.hostPort)) return undefined;
  if (located.hostPort === '' && located.path === '') return undefined;
  return `${located.scheme}${located.hostPort}${located.path}`;
}

/**
 * The viewable part of a network address (`host[:port]`, as SFTP's
 * `address`), from `host:22`, `user:password@host:22` or a URL; `undefined`
 * when no plain host name or address can be told apart.
 */
export function viewableAddress(value: string): string | undefined {
  const located = locate(value);
  if (located === undefined || !HOST_PORT.test(located.hostPort)) return undefined;
  return located.hostPort;
}
