import { createHash, timingSafeEqual } from 'node:crypto';

/** A monitor stream a token may open. */
export type StreamScope = 'ingest' | 'storage';

/** One accepted bearer token. */
export interface TokenConfig {
  /** The secret itself. Never logged; only its {@link TokenConfig.label} is. */
  readonly token: string;
  /** Streams this token may open. @default both `ingest` and `storage` */
  readonly scopes?: readonly StreamScope[];
  /** A name for logs and errors. @default `token-<n>` (its position, from 1) */
  readonly label?: string;
}

/** Who a request authenticated as. */
export interface Principal {
  readonly label: string;
  readonly scopes: ReadonlySet<StreamScope>;
}

/** The outcome of checking a request's credentials. */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const SCOPES: readonly StreamScope[] = ['ingest', 'storage'];

interface Entry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Checks bearer tokens in constant time. Tokens are compared as SHA-256
 * digests with `timingSafeEqual`, so neither the length nor the content of a
 * configured token leaks through response timing, and every configured token
 * is compared on every request (no early exit).
 */
export class TokenAuthenticator {
  readonly #entries: readonly Entry[];

  /** @throws {TypeError} when a token is empty or a scope unknown. */
  constructor(tokens: readonly TokenConfig[]) {
    this.#entries = tokens.map((config, index) => {
      if (typeof config.token !== 'string' || config.token.length === 0) {
        throw new TypeError(`tokens[${index}].token must be a non-empty string`);
      }
      const scopes = config.scopes ?? SCOPES;
      for (const scope of scopes) {
        if (!SCOPES.includes(scope)) throw new TypeError(`tokens[${index}].scopes: unknown scope ${String(scope)}`);
      }
      return {
        digest: digest(config.token),
        principal: { label: config.label ?? `token-${index + 1}`, scopes: new Set(scopes) },
      };
    });
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Authenticates a presented secret for one stream.
   * @param presented the token from the request, or `undefined` when none was sent.
   */
  check(presented: string | undefined, scope: StreamScope): AuthResult {
    if (presented === undefined || presented.length === 0) {
      return { ok: false, status: 401, message: 'missing bearer token' };
    }
    const candidate = digest(presented);
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, candidate) && found === undefined) found = entry.principal;
    }
    if (found === undefined) return { ok: false, status: 401, message: 'invalid bearer token' };
    if (!found.scopes.has(scope)) {
      return { ok: false, status: 403, message: `this token may not open the ${scope} stream` };
    }
    return { ok: true, principal: found };
  }
}

/**
 * Reads the token from a request: the `Authorization: Bearer <token>` header,
 * or else the `access_token` query parameter (RFC 6750 §2.3), which is what a
 * browser's `EventSource` can send since it cannot set headers.
 */
export function presentedToken(authorization: string | undefined, url: string): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return match?.[1] ?? '';
  }
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  const value = new URLSearchParams(url.slice(query + 1)).get('access_token');
  return value ?? undefined;
}

/**
 * Parses the compact token list used by the command line and
 * `TIDINGS_TOKENS`: comma-separated `token` or `token:scope[+scope]` entries,
 * e.g. `s3cret,dash:ingest,ops:ingest+storage`.
 * @throws {TypeError} on an empty token or unknown scope.
 */
export function parseTokenList(text: string): TokenConfig[] {
  const configs: TokenConfig[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item.length === 0) continue;
    const colon = item.lastIndexOf(':');
    if (colon < 0) {
      configs.push({ token: item });
      continue;
    }
    const token = item.slice(0, colon);
    const scopes = item
      .slice(colon + 1)
      .split('+')
      .map((s) => s.trim());
    for (const scope of scopes) {
      if (scope !== 'ingest' && scope !== 'storage') {
        throw new TypeError(`token list: unknown scope "${scope}" (use ingest, storage or ingest+storage)`);
      }
    }
    if (token.length === 0) throw new TypeError('token list: empty token');
    configs.push({ token, scopes: scopes as StreamScope[] });
  }
  return configs;
}
