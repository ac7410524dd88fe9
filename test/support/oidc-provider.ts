/**
 * A real OpenID provider for tests: `oidc-provider` (npm) on a free loopback
 * port, serving discovery, JWKS, its development login page and the
 * authorization-code + PKCE flow, with JWT access tokens whose `aud` is the
 * client ID and which carry the account's claims (`email`,
 * `email_verified`, `enduro`, `roles`, …), as Keycloak's do for Enduro.
 *
 * Server-side tests mint tokens for an account directly with {@link
 * TestOidcProvider.mint}: signed with the very keys the provider signs with
 * and serves as its JWKS, so a verifier cannot tell them from tokens the
 * provider issued through a login, and no browser is needed per token.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';

/** A user of the provider; the login page accepts any password for it. */
export interface TestOidcAccount {
  /** The login name, also the `sub` claim. */
  readonly id: string;
  /** Claims added to its tokens beside `sub`: `email`, `email_verified`, `enduro`, `roles`, … */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Accounts every provider has, one per kind of Enduro user. */
export const DEFAULT_ACCOUNTS: readonly TestOidcAccount[] = [
  { id: 'admin', claims: { email: 'admin@example.test', email_verified: true, enduro: ['*'] } },
  { id: 'ingester', claims: { email: 'ingester@example.test', email_verified: true, enduro: ['ingest:*'] } },
  { id: 'sips-lister', claims: { email: 'sips@example.test', email_verified: true, enduro: ['ingest:sips:list'] } },
  {
    id: 'role-user',
    claims: { email: 'role@example.test', email_verified: true, roles: ['enduro-readonly', 'other-app'] },
  },
  { id: 'nobody', claims: { email: 'nobody@example.test', email_verified: true, enduro: [] } },
  { id: 'unverified', claims: { email: 'unverified@example.test', email_verified: false, enduro: ['*'] } },
];

/** The provider's two clients: public, code flow with PKCE, JWT access tokens with `aud` = client ID. */
export const DASHBOARD_CLIENT_ID = 'tidings-dashboard';
export const OTHER_CLIENT_ID = 'tidings-other';

/** The resource every access token is for; its format is JWT. */
const RESOURCE = 'urn:tidings:monitor';

export interface TestOidcProviderOptions {
  /** Accounts; default {@link DEFAULT_ACCOUNTS}. */
  readonly accounts?: readonly TestOidcAccount[];
  /** Redirect URIs both clients accept (the dashboard's callback in a browser test). */
  readonly redirectUris?: readonly string[];
  /** Lifetime of access tokens issued through the flow, in seconds. @default 300 */
  readonly accessTokenTtlSec?: number;
}

/** Options of {@link TestOidcProvider.mint}. */
export interface MintOptions {
  /** `aud`; default {@link DASHBOARD_CLIENT_ID}. */
  readonly audience?: string | readonly string[];
  /** Seconds from now to `exp`; default 300. Negative: already expired. */
  readonly expiresInSec?: number;
  /** Seconds from now to `nbf`; none by default. */
  readonly notBeforeInSec?: number;
  /** Signing algorithm, with the provider's key of that kind. @default 'RS256' */
  readonly alg?: 'RS256' | 'ES256';
  /** Claims that replace or add to the account's (e.g. `iss`). */
  readonly claims?: JWTPayload;
}

/** A running provider. */
export interface TestOidcProvider {
  /** The issuer, `http://127.0.0.1:<port>`: what `providerURL` must be. */
  readonly issuer: string;
  /** The current signing keys, private, as the provider holds them (RS256 and ES256). */
  readonly privateJwks: { readonly RS256: JWK; readonly ES256: JWK };
  /** A token for `accountId`, signed with the provider's current key. */
  mint(accountId: string, options?: MintOptions): Promise<string>;
  /** New keys served and used from now on; the old ones are no longer served. Logins in progress are lost. */
  rotateKeys(): Promise<void>;
  /** How many requests reached `path` (e.g. `/jwks`, `/.well-known/openid-configuration`). */
  requestCount(path: string): number;
  /** Stops the server, closing open connections; safe to call twice. */
  stop(): Promise<void>;
}

interface KeyPairs {
  readonly privateJwks: { readonly RS256: JWK; readonly ES256: JWK };
}

async function generateKeys(): Promise<KeyPairs> {
  const generation = randomBytes(6).toString('hex');
  const jwk = async (alg: 'RS256' | 'ES256'): Promise<JWK> => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `${alg.toLowerCase()}-${generation}` };
  };
  return { privateJwks: { RS256: await jwk('RS256'), ES256: await jwk('ES256') } };
}

function createProvider(
  issuer: string,
  keys: KeyPairs,
  accounts: ReadonlyMap<string, TestOidcAccount>,
  options: TestOidcProviderOptions,
): Provider {
  const redirectUris = [...(options.redirectUris ?? ['http://127.0.0.1/callback'])];
  const client = (clientId: string): ClientMetadata => ({
    client_id: clientId,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
  });
  const claimsOf = (accountId: string | undefined): Record<string, unknown> => {
    const account = accountId === undefined ? undefined : accounts.get(accountId);
    return account ? { ...account.claims } : {};
  };
  return new Provider(issuer, {
    clients: [client(DASHBOARD_CLIENT_ID), client(OTHER_CLIENT_ID)],
    jwks: { keys: [keys.privateJwks.RS256, keys.privateJwks.ES256] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'email', 'profile', 'offline_access', 'monitor'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['enduro', 'roles'] },
    findAccount: (_ctx, id) => {
      if (!accounts.has(id)) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...claimsOf(id) }) };
    },
    // A browser app served from a redirect URI's origin may call the token endpoint (oidc-client-ts does).
    clientBasedCORS: (_ctx, origin, requester) =>
      origin !== 'null' && requester.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) === true,
    // Refresh tokens without `offline_access` (which needs prompt=consent): silent renewal by refresh token.
    issueRefreshToken: (_ctx, requester) => requester.grantTypeAllowed('refresh_token'),
    // The claims Enduro reads go into the access token itself, as Keycloak's mappers put them.
    extraTokenClaims: (_ctx, token) => claimsOf('accountId' in token ? token.accountId : undefined),
    ttl: { AccessToken: options.accessTokenTtlSec ?? 300, IdToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, _resource, requester) => ({
          scope: 'monitor',
          audience: requester.clientId,
          accessTokenFormat: 'jwt',
          accessTokenTTL: options.accessTokenTtlSec ?? 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
}

/** `token` with its payload replaced by `claims`, keeping header and signature: a tampered token. */
export function withPayload(token: string, claims: object): string {
  const [header, , signature] = token.split('.');
  return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

/**
 * `claims` signed HS256 with the provider's RSA public key, as it serves it,
 * for a secret: the classic algorithm-confusion forgery.
 */
export function hs256WithPublicKey(provider: TestOidcProvider, claims: JWTPayload): Promise<string> {
  const publicPem = createPublicKey({ key: provider.privateJwks.RS256, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  });
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: provider.privateJwks.RS256.kid })
    .sign(new TextEncoder().encode(String(publicPem)));
}

/** Starts a provider on a free loopback port. Call `stop()` in a `finally` or `after`. */
export async function startOidcProvider(options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const accounts = new Map((options.accounts ?? DEFAULT_ACCOUNTS).map((account) => [account.id, account]));
  const counts = new Map<string, number>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let keys = await generateKeys().catch(async (error: unknown) => {
    server.close();
    throw error;
  });
  const install = (): void => {
    // A new Provider per key set: oidc-provider fixes its keystore at construction.
    handler = createProvider(issuer, keys, accounts, options).callback();
  };
  install();

  let stopped: Promise<void> | undefined;
  return {
    issuer,
    get privateJwks() {
      return keys.privateJwks;
    },
    async mint(accountId, mintOptions = {}) {
      const account = accounts.get(accountId);
      if (!account) throw new TypeError(`accountId: no account ${accountId}`);
      const alg = mintOptions.alg ?? 'RS256';
      const jwk = keys.privateJwks[alg];
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ ...account.claims, scope: 'monitor', ...mintOptions.claims })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(account.id)
        .setAudience((mintOptions.audience as string | string[] | undefined) ?? DASHBOARD_CLIENT_ID)
        .setIssuedAt(now)
        .setExpirationTime(now + (mintOptions.expiresInSec ?? 300));
      if (mintOptions.notBeforeInSec !== undefined) jwt.setNotBefore(now + mintOptions.notBeforeInSec);
      if (mintOptions.claims?.iss !== undefined) jwt.setIssuer(mintOptions.claims.iss);
      return jwt.sign(jwk);
    },
    async rotateKeys() {
      keys = await generateKeys();
      install();
    },
    requestCount(path) {
      return counts.get(path) ?? 0;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
