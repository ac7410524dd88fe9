import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator, AuthResult, Principal, StreamScope } from './types.js';

/** One accepted bearer token. */
export interface TokenConfig {
  /** The secret itself. Never logged; only its {@link TokenConfig.label} is. */
  readonly token: string;
  /** Streams this token may open. @default both `ingest` and `storage` */
  readonly scopes?: readonly StreamScope[];
  /** A name for logs and errors. @default `token-<n>` (its position, from 1) */
  readonly label?: string;
  /**
   * Enduro attributes deciding which events this token's streams carry
   * (`ingest:*`, `storage:aips:list`, `*`, …; see Enduro's event table).
   * Absent: every event passes, as for a deployment without ABAC. `[]`: only pings.
   */
  readonly attributes?: readonly string[];
}

const SCOPES: readonly StreamScope[] = ['ingest', 'storage'];

interface Entry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

function checkedAttributes(attributes: readonly string[] | undefined, index: number): readonly string[] | undefined {
  if (attributes === undefined) return undefined;
  if (!Array.isArray(attributes)) throw new TypeError(`tokens[${index}].attributes must be an array of strings`);
  for (const attribute of attributes) {
    if (typeof attribute !== 'string' || !/^\S+$/.test(attribute)) {
      throw new TypeError(`tokens[${index}].attributes: ${JSON.stringify(attribute)} is not an attribute`);
    }
  }
  return Object.freeze([...attributes]);
}

/**
 * Checks static bearer tokens in constant time. Tokens are compared as
 * SHA-256 digests with `timingSafeEqual`, so neither the length nor the
 * content of a configured token leaks through response timing, and every
 * configured token is compared on every request (no early exit).
 */
export class TokenAuthenticator implements Authenticator {
  readonly #entries: readonly Entry[];

  /** @throws {TypeError} when a token is empty, a scope unknown or an attribute not a word. */
  constructor(tokens: readonly TokenConfig[]) {
    this.#entries = tokens.map((config, index) => {
      if (typeof config.token !== 'string' || config.token.length === 0) {
        throw new TypeError(`tokens[${index}].token must be a non-empty string`);
      }
      const scopes = config.scopes ?? SCOPES;
      for (const scope of scopes) {
        if (!SCOPES.includes(scope)) throw new TypeError(`tokens[${index}].scopes: unknown scope ${String(scope)}`);
      }
      const attributes = checkedAttributes(config.attributes, index);
      const principal: Principal = {
        label: config.label ?? `token-${index + 1}`,
        scopes: new Set(scopes),
        ...(attributes === undefined ? {} : { attributes }),
      };
      return { digest: digest(config.token), principal };
    });
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Authenticates a presented secret for one stream. The same token always
   * yields the same {@link Principal} object.
   * @param presented the token from the request, or `undefined` when none was sent.
   */
  authenticate(presented: string | undefined, scope: StreamScope): AuthResult {
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

function parseScopes(text: string): StreamScope[] {
  const scopes = text.split('+').map((s) => s.trim());
  for (const scope of scopes) {
    if (scope !== 'ingest' && scope !== 'storage') {
      throw new TypeError(`token list: unknown scope "${scope}" (use ingest, storage or ingest+storage)`);
    }
  }
  return scopes as StreamScope[];
}

function parseAttributeList(text: string): string[] {
  const attributes = text.split('|').map((a) => a.trim());
  for (const attribute of attributes) {
    if (!/^\S+$/.test(attribute)) {
      throw new TypeError(`token list: empty attribute in "@${text}" (write token@attr1|attr2)`);
    }
  }
  return attributes;
}

/**
 * Parses the compact token list used by the command line and
 * `TIDINGS_TOKENS`: comma-separated `token[:scope[+scope]][@attribute[|attribute]]`
 * entries, e.g. `s3cret,dash:ingest,ops:ingest+storage,viewer@ingest:sips:*|storage:aips:list`.
 * Attributes follow the last `@` (they hold `:` and `*`, never `@`), scopes
 * the last `:` before it. A token may not contain `,` or `@`; one holding `:`
 * needs its scopes written out (`a:b:ingest+storage`), as before.
 * @throws {TypeError} on an empty token, an unknown scope or an empty attribute.
 */
export function parseTokenList(text: string): TokenConfig[] {
  const configs: TokenConfig[] = [];
  for (const raw of text.split(',')) {
    let item = raw.trim();
    if (item.length === 0) continue;
    let attributes: string[] | undefined;
    const at = item.lastIndexOf('@');
    if (at >= 0) {
      attributes = parseAttributeList(item.slice(at + 1));
      item = item.slice(0, at);
    }
    const colon = item.lastIndexOf(':');
    const token = colon < 0 ? item : item.slice(0, colon);
    if (token.trim().length === 0) throw new TypeError('token list: empty token');
    configs.push({
      token,
      ...(colon < 0 ? {} : { scopes: parseScopes(item.slice(colon + 1)) }),
      ...(attributes === undefined ? {} : { attributes }),
    });
  }
  return configs;
}
