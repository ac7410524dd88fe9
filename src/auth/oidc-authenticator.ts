import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { boundedLogger, type Logger, silentLogger } from '../core/logger.js';
import { parseAttributes } from './attributes.js';
import type { Authenticator, AuthResult, OidcProviderConfig, Principal, StreamScope } from './types.js';

/** A verified token's claims, as the provider signed them. */
export type OidcClaims = Readonly<Record<string, unknown>>;

/**
 * The signature algorithms a token may use: asymmetric only. `none` and the
 * HMACs (HS256, …) are refused before any key is looked up, so a token "signed"
 * with a provider's public key as an HMAC secret never reaches a verifier.
 */
export const OIDC_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** Options of {@link OidcAuthenticator}. */
export interface OidcAuthenticatorOptions {
  /**
   * Reads a verified token's attributes for a provider (typically Enduro's
   * ABAC parsing of `provider.abac`). `undefined`: no attribute checks for
   * this user. A throw refuses the token with 401 and the error's message,
   * as Enduro refuses a token whose claim path is missing.
   * @default Enduro's parsing of the provider's `abac` table ({@link parseAttributes})
   */
  readonly toAttributes?: (claims: OidcClaims, provider: OidcProviderConfig) => readonly string[] | undefined;
  /**
   * Seconds of clock difference allowed between the provider and this host
   * when checking `exp` and `nbf`.
   * @default 30
   */
  readonly clockToleranceSec?: number;
  /**
   * The HTTP client for the discovery document and the JWKS.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * Time allowed for one discovery or JWKS request, in ms.
   * @default 5000
   */
  readonly fetchTimeoutMs?: number;
  /**
   * After a JWKS fetch, how long a token with an unknown `kid` is refused
   * without asking the provider again, in ms: the rate limit on refetches
   * that key rotation (or a forged `kid`) triggers.
   * @default 30000
   */
  readonly jwksCooldownMs?: number;
  /**
   * How long fetched keys are used before the JWKS is fetched again, in ms.
   * @default 600000
   */
  readonly jwksMaxAgeMs?: number;
  /**
   * After a failed discovery fetch, how long tokens of that provider are
   * refused (401) before it is asked again, in ms.
   * @default 5000
   */
  readonly discoveryRetryMs?: number;
  /**
   * How many verified tokens are remembered, so that the same token opening
   * another stream (Enduro's dashboard opens two per token, and reconnects
   * with it) is not verified again until its `exp`. Refusals are never
   * remembered. 0 turns this off.
   * @default 1024
   */
  readonly verifiedCacheSize?: number;
  /** The clock, in ms since the epoch, for `exp`/`nbf`. @default Date.now */
  readonly now?: () => number;
  /** Where fetch failures are reported. @default silentLogger */
  readonly logger?: Logger;
}

const BOTH_STREAMS: ReadonlySet<StreamScope> = new Set<StreamScope>(['ingest', 'storage']);

/** Why a provider could not be used right now; the token may be fine. */
class ProviderUnavailable extends Error {}

/** One configured provider/client pair and what was learnt of its provider. */
class ProviderVerifier {
  private keys: JWTVerifyGetKey | undefined;
  private pending: Promise<JWTVerifyGetKey> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;
  private failure = '';

  constructor(
    readonly config: OidcProviderConfig,
    private readonly options: Required<
      Omit<OidcAuthenticatorOptions, 'toAttributes' | 'logger' | 'verifiedCacheSize' | 'now'>
    >,
    private readonly logger: Logger,
    /** Called whenever the provider's keys are fetched (again): what was verified before may rest on a removed key. */
    private readonly onKeysFetched: () => void,
  ) {}

  /** The provider's keys, after one discovery (shared by concurrent callers, retried after a failure). */
  keySet(): JWTVerifyGetKey | Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    if (this.pending) return this.pending;
    if (Date.now() - this.failedAt < this.options.discoveryRetryMs) {
      throw new ProviderUnavailable(this.failure);
    }
    this.pending = this.discover().then(
      (keys) => {
        this.keys = keys;
        this.pending = undefined;
        return keys;
      },
      (error: unknown) => {
        this.pending = undefined;
        this.failedAt = Date.now();
        this.failure = error instanceof Error ? error.message : String(error);
        this.logger.warn(
          { providerURL: this.config.providerURL, reason: this.failure },
          'OIDC discovery failed; tokens of this provider are refused until it answers',
        );
        throw new ProviderUnavailable(this.failure);
      },
    );
    return this.pending;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const { providerURL } = this.config;
    const url = `${providerURL.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      throw new Error(`discovery document unreachable (${describeFetchError(error)})`);
    }
    if (!response.ok) throw new Error(`discovery document answered HTTP ${response.status}`);
    let document: unknown;
    try {
      document = await response.json();
    } catch {
      throw new Error('discovery document is not JSON');
    }
    const { issuer, jwks_uri } = (typeof document === 'object' && document !== null ? document : {}) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    };
    // As go-oidc (Enduro's verifier): the provider must call itself exactly what it is configured as.
    if (issuer !== providerURL) {
      throw new Error(`discovery document names issuer ${JSON.stringify(issuer)}, not the configured providerURL`);
    }
    if (typeof jwks_uri !== 'string' || !URL.canParse(jwks_uri)) {
      throw new Error('discovery document has no valid jwks_uri');
    }
    const fetchImpl = this.options.fetch;
    return createRemoteJWKSet(new URL(jwks_uri), {
      timeoutDuration: this.options.fetchTimeoutMs,
      cooldownDuration: this.options.jwksCooldownMs,
      cacheMaxAge: this.options.jwksMaxAgeMs,
      [customFetch]: async (resource, init) => {
        const response = await fetchImpl(resource, init);
        this.onKeysFetched();
        return response;
      },
    });
  }
}

/** A short reason for a failed request, with the system's code when there is one. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (error.name === 'TimeoutError') return 'timed out';
  return typeof code === 'string' ? `${error.message}: ${code}` : error.message;
}

/** Why the provider's keys could not be had, or `undefined` when the error is about the token. */
function keysUnavailable(error: unknown): string | undefined {
  if (error instanceof errors.JWKSTimeout) return "provider's keys unavailable (timed out)";
  if (error instanceof errors.JWKSInvalid) return "provider's keys are not a valid JWKS";
  // jose's generic error is its "Expected 200 OK" from the JWKS endpoint.
  if (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') {
    return `provider's keys unavailable (${error.message})`;
  }
  if (!(error instanceof errors.JOSEError)) return `provider's keys unavailable (${describeFetchError(error)})`;
  return undefined;
}

/** What went wrong with a token, in words that hold nothing of its content. */
function rejection(error: unknown, provider: OidcProviderConfig): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return `token audience does not include client ID ${provider.clientID}`;
      case 'iss':
        return 'token issuer is not the provider';
      case 'nbf':
        return 'token not yet valid (nbf)';
      case 'exp':
        return error.reason === 'missing' ? 'token has no expiry (exp)' : 'token expiry (exp) is invalid';
      default:
        return `token claim ${error.claim} is invalid`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed (asymmetric signatures only)';
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the provider matches the token's key";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "several keys of the provider match the token's key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  const code = error instanceof errors.JOSEError ? error.code : 'unknown error';
  return `token is not a valid JWT (${code})`;
}

/**
 * Verifies OIDC access tokens as Enduro does (`[[api.auth.oidc]]`): for each
 * configured provider/client pair, the provider's discovery document and
 * JWKS are fetched over HTTP and cached; a token must be signed by one of its
 * keys with an asymmetric algorithm ({@link OIDC_ALGORITHMS}), carry
 * `iss` equal to the provider URL, the client ID in `aud`, an `exp` in the
 * future and no `nbf` in the future (both within `clockToleranceSec`), and
 * `email_verified: true` unless `skipEmailVerifiedCheck`. A token is accepted
 * if any provider accepts it.
 *
 * Key rotation: a token whose `kid` is not in the cached JWKS makes it be
 * fetched again, at most once per `jwksCooldownMs` (30 s) per provider; keys
 * are refreshed after `jwksMaxAgeMs` (10 min) anyway. A provider that cannot
 * be reached refuses its tokens with 401 (logged) and is asked again later;
 * nothing throws.
 *
 * @example
 * ```ts
 * const auth = new OidcAuthenticator([{ providerURL: 'https://keycloak.example/realms/enduro', clientID: 'enduro' }]);
 * const result = await auth.authenticate(bearerToken, 'ingest'); // { ok: true, principal } or { ok: false, status: 401, message }
 * ```
 */
/** Enduro's reading of a provider's `abac` table; no table: no attribute checks. */
function enduroAttributes(claims: OidcClaims, provider: OidcProviderConfig): readonly string[] | undefined {
  return provider.abac === undefined ? undefined : parseAttributes(claims, provider.abac);
}

export class OidcAuthenticator implements Authenticator {
  /** Each provider/client pair with its issuer's keys. */
  private readonly verifiers: readonly { readonly config: OidcProviderConfig; readonly keys: ProviderVerifier }[];
  private readonly clockToleranceSec: number;
  private readonly toAttributes: OidcAuthenticatorOptions['toAttributes'];
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly verifiedCacheSize: number;
  /** Verified tokens and their principals, oldest first (a Map keeps insertion order). */
  private readonly verified = new Map<string, Principal>();
  /** Counts JWKS fetches, so a verification that straddled one is not remembered. */
  private keysGeneration = 0;

  /**
   * @param providers the provider/client pairs, tried in order; at least one.
   * @throws TypeError when `providers` is empty, a provider lacks its URL or
   *   client ID.
   */
  constructor(providers: readonly OidcProviderConfig[], options: OidcAuthenticatorOptions = {}) {
    if (providers.length === 0) throw new TypeError('providers: at least one OIDC provider is needed');
    for (const [index, provider] of providers.entries()) {
      if (!provider.providerURL || !URL.canParse(provider.providerURL)) {
        throw new TypeError(`providers[${index}].providerURL: not a URL`);
      }
      if (!provider.clientID) throw new TypeError(`providers[${index}].clientID: required`);
    }
    this.clockToleranceSec = options.clockToleranceSec ?? 30;
    this.toAttributes = options.toAttributes ?? enduroAttributes;
    this.now = options.now ?? Date.now;
    this.verifiedCacheSize = options.verifiedCacheSize ?? 1024;
    const logger = boundedLogger(options.logger ?? silentLogger);
    const settings = {
      clockToleranceSec: this.clockToleranceSec,
      fetch: options.fetch ?? globalThis.fetch,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 5000,
      jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
      jwksMaxAgeMs: options.jwksMaxAgeMs ?? 600_000,
      discoveryRetryMs: options.discoveryRetryMs ?? 5000,
    };
    const forgetVerified = (): void => {
      this.verified.clear();
      this.keysGeneration++;
    };
    // One key set per issuer, shared by its pairs: a key the issuer no longer serves, once one pair has
    // fetched the JWKS again, must not still verify tokens through another pair's older copy.
    const issuers = new Map<string, ProviderVerifier>();
    this.verifiers = providers.map((config) => {
      let keys = issuers.get(config.providerURL);
      if (keys === undefined) {
        keys = new ProviderVerifier(config, settings, logger, forgetVerified);
        issuers.set(config.providerURL, keys);
      }
      return { config, keys };
    });
    this.logger = logger;
  }

  /** Verifies `token` against the providers; the stream scope does not matter (OIDC users may open both). */
  async authenticate(token: string | undefined, _scope: StreamScope): Promise<AuthResult> {
    if (!token) return { ok: false, status: 401, message: 'missing bearer token' };
    const known = this.verified.get(token);
    if (known !== undefined) {
      // Only a byte-identical token hits, so nothing about it can have changed but the time.
      if ((known.expiresAt ?? 0) > this.now()) return { ok: true, principal: known };
      this.verified.delete(token);
    }
    const generation = this.keysGeneration;
    const result = await this.verify(token);
    if (result.ok && this.verifiedCacheSize > 0 && generation === this.keysGeneration) {
      if (this.verified.size >= this.verifiedCacheSize) {
        const oldest = this.verified.keys().next().value;
        if (oldest !== undefined) this.verified.delete(oldest);
      }
      this.verified.set(token, result.principal);
    }
    return result;
  }

  private async verify(token: string): Promise<AuthResult> {
    let unverifiedIssuer: unknown;
    try {
      unverifiedIssuer = decodeJwt(token).iss;
    } catch {
      return { ok: false, status: 401, message: 'token is not a JWT' };
    }
    // Only a pair whose URL is the claimed issuer could accept the token (the
    // signature check then verifies that claim), so the others are not asked.
    const candidates = this.verifiers.filter((verifier) => verifier.config.providerURL === unverifiedIssuer);
    if (candidates.length === 0)
      return { ok: false, status: 401, message: 'token issuer is not a configured provider' };
    const reasons: string[] = [];
    for (const verifier of candidates) {
      const result = await this.verifyWith(verifier, token);
      if (result.ok) return result;
      if (!reasons.includes(result.message)) reasons.push(result.message);
    }
    return { ok: false, status: 401, message: reasons.join('; ') };
  }

  private async verifyWith(
    verifier: { readonly config: OidcProviderConfig; readonly keys: ProviderVerifier },
    token: string,
  ): Promise<AuthResult> {
    const provider = verifier.config;
    let claims: JWTPayload;
    try {
      const keys = await verifier.keys.keySet();
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer: provider.providerURL,
        audience: provider.clientID,
        algorithms: [...OIDC_ALGORITHMS],
        clockTolerance: this.clockToleranceSec,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof ProviderUnavailable) {
        return { ok: false, status: 401, message: `OIDC provider unavailable: ${error.message}` };
      }
      const unavailable = keysUnavailable(error);
      if (unavailable !== undefined) {
        this.logger.warn({ providerURL: provider.providerURL, reason: unavailable }, 'OIDC JWKS fetch failed');
        return { ok: false, status: 401, message: unavailable };
      }
      return { ok: false, status: 401, message: rejection(error, provider) };
    }
    if (!provider.skipEmailVerifiedCheck && claims.email_verified !== true) {
      return { ok: false, status: 401, message: 'token email is not verified (email_verified)' };
    }
    let attributes: readonly string[] | undefined;
    try {
      attributes = this.toAttributes?.(claims, provider);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, status: 401, message: `token attributes unreadable: ${reason}` };
    }
    const name = typeof claims.email === 'string' ? claims.email : claims.sub;
    const principal: Principal = {
      label: `oidc:${name ?? 'unknown'}`,
      scopes: BOTH_STREAMS,
      ...(attributes === undefined ? {} : { attributes }),
      ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1000 } : {}),
    };
    return { ok: true, principal };
  }
}
