/**
 * The vocabulary of the gateway's access control: who a request is, what it
 * may open, and how a token source answers. Token sources (static tokens,
 * OIDC) produce a {@link Principal}; the stream asks one question of it per
 * event type ("may this client see this type?") and knows nothing of tokens.
 */

/** A monitor stream a client may open. */
export type StreamScope = 'ingest' | 'storage';

/** Who a request authenticated as. */
export interface Principal {
  /** A name for logs and errors: never the token itself. */
  readonly label: string;
  /** Streams this principal may open. */
  readonly scopes: ReadonlySet<StreamScope>;
  /**
   * Enduro attributes (`ingest:sips:list`, `ingest:*`, `*`, …) that decide which
   * events reach this principal. `undefined`: no attribute checks at all (auth
   * or ABAC disabled), every event passes, as in Enduro.
   */
  readonly attributes?: readonly string[];
  /** When the credential stops being valid, in ms since the epoch; a stream opened with it ends then. */
  readonly expiresAt?: number;
}

/** The outcome of checking a request's credentials. */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/** A source of principals: static tokens, OIDC providers, or a chain of them. */
export interface Authenticator {
  /**
   * Checks a presented bearer token for one stream.
   * @param token the token from the request, `undefined` when none was sent.
   */
  authenticate(token: string | undefined, scope: StreamScope): AuthResult | Promise<AuthResult>;
}

/**
 * How attributes are read from a verified token's claims, as Enduro's
 * `[api.auth.oidc.abac]` table says.
 */
export interface AbacConfig {
  /** Read attributes from the token at all. */
  readonly enabled: boolean;
  /** Where the attribute list is, e.g. `enduro` or `attributes.enduro`. Required when enabled. */
  readonly claimPath: string;
  /** Splits `claimPath` into nested keys; empty: the path is one top-level key. */
  readonly claimPathSeparator?: string;
  /** Keep only values with this prefix, and cut it off. */
  readonly claimValuePrefix?: string;
  /** Treat the kept values as role names, mapped to attributes by `rolesMapping`. */
  readonly useRoles?: boolean;
  /** Role name to attributes; roles not in the map give nothing. Required when `useRoles`. */
  readonly rolesMapping?: Readonly<Record<string, readonly string[]>>;
}

/** One OIDC provider/client pair, as in Enduro's `[[api.auth.oidc]]`. */
export interface OidcProviderConfig {
  /** The issuer; its discovery document gives the JWKS. */
  readonly providerURL: string;
  /** Must be one of the token's `aud` values. */
  readonly clientID: string;
  /** Accept tokens without `email_verified: true`. @default false */
  readonly skipEmailVerifiedCheck?: boolean;
  /** Attribute extraction; absent or disabled: no attribute checks for this provider's users. */
  readonly abac?: AbacConfig;
}
