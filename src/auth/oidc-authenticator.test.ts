/**
 * OIDC verification against a real OpenID provider (`oidc-provider`, started
 * on loopback): the tokens it issues through its login page and the ones
 * minted with its own keys are accepted; every forgery of the attack matrix
 * is refused with 401.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { base64url, decodeJwt, SignJWT } from 'jose';
import {
  DASHBOARD_CLIENT_ID,
  hs256WithPublicKey,
  OTHER_CLIENT_ID,
  startOidcProvider,
  type TestOidcProvider,
  withPayload,
} from '../../test/support/oidc-provider.js';
import type { Logger } from '../core/logger.js';
import { OidcAuthenticator } from './oidc-authenticator.js';
import type { AuthResult, OidcProviderConfig } from './types.js';

function rejected(result: AuthResult): string {
  assert.equal(result.ok, false, 'expected the token to be refused');
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.status, 401);
  return result.message;
}

function accepted(result: AuthResult) {
  if (!result.ok) assert.fail(`expected the token to be accepted, got ${result.status}: ${result.message}`);
  return result.principal;
}

/** A logger that keeps what it was given. */
function rememberingLogger(): Logger & { lines: { level: string; message: string; fields: object }[] } {
  const lines: { level: string; message: string; fields: object }[] = [];
  const keep = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push({ level, message, fields });
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

describe('OidcAuthenticator against a real provider', () => {
  let provider: TestOidcProvider;
  let stranger: TestOidcProvider;
  const matrix: { attack: string; status: string; message: string }[] = [];

  before(async () => {
    provider = await startOidcProvider();
    stranger = await startOidcProvider();
  });
  after(async () => {
    await provider?.stop();
    await stranger?.stop();
  });

  const config = (overrides: Partial<OidcProviderConfig> = {}): OidcProviderConfig => ({
    providerURL: provider.issuer,
    clientID: DASHBOARD_CLIENT_ID,
    ...overrides,
  });

  test('a token minted with the provider key (RS256 and ES256) gives a principal of both streams until exp', async () => {
    const auth = new OidcAuthenticator([config()], { toAttributes: (claims) => claims.enduro as string[] });
    for (const alg of ['RS256', 'ES256'] as const) {
      const token = await provider.mint('ingester', { alg, expiresInSec: 120 });
      const principal = accepted(await auth.authenticate(token, 'storage'));
      assert.equal(principal.label, 'oidc:ingester@example.test');
      assert.deepEqual([...principal.scopes].sort(), ['ingest', 'storage']);
      assert.deepEqual(principal.attributes, ['ingest:*']);
      assert.equal(principal.expiresAt, (decodeJwt(token).exp as number) * 1000);
      assert.ok(!principal.label.includes(token));
    }
  });

  test('the attack matrix: each forgery is refused with 401', async (t) => {
    const auth = new OidcAuthenticator([config()], { jwksCooldownMs: 0 });
    const record = async (attack: string, token: string, expected: RegExp): Promise<void> => {
      const message = rejected(await auth.authenticate(token, 'ingest'));
      assert.match(message, expected, attack);
      matrix.push({ attack, status: '401', message });
    };
    const genuine = await provider.mint('admin');
    accepted(await auth.authenticate(genuine, 'ingest'));
    const claims = decodeJwt(genuine);

    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(claims))}.`;
    await record('alg: none', unsigned, /algorithm not allowed/);

    const hs256 = await hs256WithPublicKey(provider, claims);
    await record('HS256 keyed with the RSA public key', hs256, /algorithm not allowed/);

    await record('wrong aud', await provider.mint('admin', { audience: 'some-other-client' }), /audience/);
    await record(
      'wrong iss',
      await provider.mint('admin', { claims: { iss: `${provider.issuer}/elsewhere` } }),
      /issuer is not a configured provider/,
    );
    await record(
      'expired (120 s ago, beyond the 30 s skew)',
      await provider.mint('admin', { expiresInSec: -120 }),
      /expired/,
    );
    await record(
      'not yet valid (nbf in 120 s)',
      await provider.mint('admin', { notBeforeInSec: 120 }),
      /not yet valid/,
    );
    await record(
      'tampered payload (nobody claims *)',
      withPayload(await provider.mint('nobody'), { ...decodeJwt(await provider.mint('nobody')), enduro: ['*'] }),
      /signature is invalid/,
    );
    await record('unverified email', await provider.mint('unverified'), /email is not verified/);
    await record('token of a provider not configured', await stranger.mint('admin'), /not a configured provider/);
    // The same, claiming the configured issuer: its key is not among the configured provider's.
    await record(
      'other provider key, claiming our iss',
      await stranger.mint('admin', { claims: { iss: provider.issuer } }),
      /no key of the provider matches/,
    );
    const { exp: _exp, ...noExpiry } = claims;
    const rsa = provider.privateJwks.RS256;
    const eternal = await new SignJWT(noExpiry).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).sign(rsa);
    await record('signed by the provider, no exp', eternal, /no expiry/);
    await record('not a JWT', 'not-a-jwt', /not a JWT/);

    // Rotation: the first token with the new kid makes the JWKS be fetched again, which drops the old key.
    const beforeRotation = await provider.mint('admin');
    accepted(await auth.authenticate(beforeRotation, 'ingest'));
    const fetches = provider.requestCount('/jwks');
    await provider.rotateKeys();
    accepted(await auth.authenticate(await provider.mint('admin'), 'ingest'));
    assert.ok(provider.requestCount('/jwks') > fetches, 'the new kid made the JWKS be fetched again');
    matrix.push({ attack: 'new key after rotation (JWKS refetched)', status: 'ok', message: 'accepted' });
    await record('unknown kid after rotation (old key removed)', beforeRotation, /no key of the provider matches/);

    const width = Math.max(...matrix.map((row) => row.attack.length));
    t.diagnostic('attack matrix (authenticator level)');
    for (const row of matrix) t.diagnostic(`${row.attack.padEnd(width)}  ${row.status}  ${row.message}`);
  });

  test('an unverified email is accepted with skipEmailVerifiedCheck', async () => {
    const auth = new OidcAuthenticator([config({ skipEmailVerifiedCheck: true })]);
    const principal = accepted(await auth.authenticate(await provider.mint('unverified'), 'ingest'));
    assert.equal(principal.label, 'oidc:unverified@example.test');
    assert.equal(principal.attributes, undefined, 'no toAttributes: no attribute checks');
  });

  test('two providers, and two clients of one provider: a token of any of them is accepted', async () => {
    const auth = new OidcAuthenticator([
      config(),
      { providerURL: stranger.issuer, clientID: DASHBOARD_CLIENT_ID },
      config({ clientID: OTHER_CLIENT_ID }),
    ]);
    accepted(await auth.authenticate(await provider.mint('admin'), 'ingest'));
    accepted(await auth.authenticate(await stranger.mint('admin'), 'ingest'));
    accepted(await auth.authenticate(await provider.mint('admin', { audience: OTHER_CLIENT_ID }), 'ingest'));
    const message = rejected(await auth.authenticate(await provider.mint('admin', { audience: 'third' }), 'ingest'));
    assert.match(message, new RegExp(`client ID ${DASHBOARD_CLIENT_ID}.*client ID ${OTHER_CLIENT_ID}`));
  });

  test('an unknown kid refetches the JWKS at most once per cooldown', async () => {
    const auth = new OidcAuthenticator([config()], { jwksCooldownMs: 60_000 });
    accepted(await auth.authenticate(await provider.mint('admin'), 'ingest'));
    const fetches = provider.requestCount('/jwks');
    assert.ok(fetches >= 1, 'the JWKS was fetched from the provider');
    for (let i = 0; i < 20; i++) {
      const forged = await stranger.mint('admin', { claims: { iss: provider.issuer } });
      assert.match(rejected(await auth.authenticate(forged, 'ingest')), /no key of the provider matches/);
    }
    assert.equal(provider.requestCount('/jwks'), fetches, '20 unknown kids within the cooldown: no refetch');
    assert.equal(provider.requestCount('/.well-known/openid-configuration') >= 1, true);
  });

  test('the discovery document is fetched once and cached', async () => {
    const auth = new OidcAuthenticator([config()]);
    const before = provider.requestCount('/.well-known/openid-configuration');
    await Promise.all(
      Array.from({ length: 10 }, async () => auth.authenticate(await provider.mint('admin'), 'ingest')),
    );
    accepted(await auth.authenticate(await provider.mint('admin'), 'ingest'));
    assert.equal(provider.requestCount('/.well-known/openid-configuration'), before + 1);
  });

  test('an unreachable provider gives 401, is logged, and is asked again after discoveryRetryMs', async () => {
    const logger = rememberingLogger();
    let failing = true;
    let attempts = 0;
    const flakyFetch: typeof fetch = async (input, init) => {
      attempts++;
      if (failing) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return fetch(input, init);
    };
    const auth = new OidcAuthenticator([config()], { fetch: flakyFetch, discoveryRetryMs: 60_000, logger });
    const token = await provider.mint('admin');
    assert.match(rejected(await auth.authenticate(token, 'ingest')), /provider unavailable.*ECONNREFUSED/);
    assert.match(rejected(await auth.authenticate(token, 'ingest')), /provider unavailable/);
    assert.equal(attempts, 1, 'within discoveryRetryMs the provider is not asked again');
    assert.equal(logger.lines.filter((line) => line.level === 'warn').length, 1);
    assert.ok(!JSON.stringify(logger.lines).includes(token), 'no token in logs');

    const retrying = new OidcAuthenticator([config()], { fetch: flakyFetch, discoveryRetryMs: 0, logger });
    assert.match(rejected(await retrying.authenticate(token, 'ingest')), /provider unavailable/);
    failing = false;
    accepted(await retrying.authenticate(token, 'ingest'));
  });

  test('a JWKS that cannot be fetched gives 401, is logged, and is fetched again on the next token', async () => {
    const logger = rememberingLogger();
    let jwksFails = true;
    const jwksFlaky: typeof fetch = async (input, init) => {
      if (jwksFails && String(input).endsWith('/jwks')) return new Response('busy', { status: 503 });
      return fetch(input, init);
    };
    const auth = new OidcAuthenticator([config()], { fetch: jwksFlaky, logger });
    const token = await provider.mint('admin');
    assert.match(rejected(await auth.authenticate(token, 'ingest')), /provider's keys unavailable/);
    assert.deepEqual(
      logger.lines.map((line) => `${line.level} ${line.message}`),
      ['warn OIDC JWKS fetch failed'],
    );
    jwksFails = false;
    accepted(await auth.authenticate(token, 'ingest'));
  });

  test('a provider that calls itself by another issuer is refused', async () => {
    const auth = new OidcAuthenticator([config({ providerURL: `${provider.issuer}/` })]);
    const token = await provider.mint('admin', { claims: { iss: `${provider.issuer}/` } });
    assert.match(rejected(await auth.authenticate(token, 'ingest')), /names issuer .* not the configured providerURL/);
  });

  test("attributes: a throwing toAttributes refuses the token; by default the provider's abac table is read as Enduro reads it", async () => {
    const auth = new OidcAuthenticator([config()], {
      toAttributes: () => {
        throw new Error("claim 'enduro' is missing");
      },
    });
    const message = rejected(await auth.authenticate(await provider.mint('role-user'), 'ingest'));
    assert.match(message, /attributes unreadable: claim 'enduro' is missing/);
    const enduro = new OidcAuthenticator([config({ abac: { enabled: true, claimPath: 'enduro' } })]);
    const ingester = await enduro.authenticate(await provider.mint('ingester'), 'ingest');
    assert.deepEqual(ingester.ok ? ingester.principal.attributes : ingester.message, ['ingest:*']);
    const roleUser = await enduro.authenticate(await provider.mint('role-user'), 'ingest');
    assert.match(rejected(roleUser), /attributes unreadable/, 'a missing claim path refuses the token, as in Enduro');
    assert.throws(() => new OidcAuthenticator([]), TypeError);
    assert.throws(() => new OidcAuthenticator([config({ clientID: '' })]), /clientID/);
  });

  test('a verified token opening another stream is not verified again, until its exp', async () => {
    let clock = Date.now();
    let reads = 0;
    const options = {
      clockToleranceSec: 0,
      now: () => clock,
      toAttributes: (claims: Readonly<Record<string, unknown>>) => {
        reads++;
        return claims.enduro as string[];
      },
    };
    const auth = new OidcAuthenticator([config()], options);
    accepted(await auth.authenticate(await provider.mint('admin'), 'ingest')); // fetches the keys
    const token = await provider.mint('ingester', { expiresInSec: 60 });
    const first = accepted(await auth.authenticate(token, 'ingest'));
    const readsAfterFirst = reads;
    const second = accepted(await auth.authenticate(token, 'storage'));
    assert.equal(second, first, 'the remembered principal');
    assert.equal(reads, readsAfterFirst, 'not verified again');

    clock = (decodeJwt(token).exp as number) * 1000;
    assert.match(rejected(await auth.authenticate(token, 'ingest')), /expired/);

    const uncached = new OidcAuthenticator([config()], { ...options, verifiedCacheSize: 0 });
    clock = Date.now();
    const fresh = await provider.mint('ingester');
    accepted(await uncached.authenticate(fresh, 'ingest'));
    const before = reads;
    accepted(await uncached.authenticate(fresh, 'ingest'));
    assert.equal(reads, before + 1, 'verifiedCacheSize 0: verified every time');

    const small = new OidcAuthenticator([config()], { ...options, verifiedCacheSize: 2 });
    const tokens = await Promise.all(['admin', 'ingester', 'sips-lister'].map((id) => provider.mint(id)));
    for (const each of tokens) accepted(await small.authenticate(each, 'ingest'));
    for (const each of tokens) accepted(await small.authenticate(each, 'ingest'));
    const settled = reads;
    accepted(await small.authenticate(tokens[2] ?? '', 'ingest'));
    assert.equal(reads, settled, 'the newest is remembered');
    accepted(await small.authenticate(tokens[0] ?? '', 'ingest'));
    assert.equal(reads, settled + 1, 'the cache holds 2: the oldest was dropped');
  });

  test('missing token: 401', async () => {
    const auth = new OidcAuthenticator([config()]);
    assert.match(rejected(await auth.authenticate(undefined, 'ingest')), /missing bearer token/);
    assert.match(rejected(await auth.authenticate('', 'ingest')), /missing bearer token/);
  });

  test('authorization code + PKCE through the login page gives a JWT access token the authenticator accepts', async () => {
    const redirectUri = 'http://127.0.0.1/callback';
    const verifier = base64url.encode(randomBytes(32));
    const challenge = base64url.encode(createHash('sha256').update(verifier).digest());
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
      token_endpoint: string;
    };
    const cookies = new Map<string, string>();
    const request = async (url: string, body?: URLSearchParams): Promise<Response> => {
      const response = await fetch(url, {
        method: body ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(body ? { body } : {}),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const at = pair.indexOf('=');
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      return response;
    };
    const authorize = new URL(discovery.authorization_endpoint);
    for (const [key, value] of Object.entries({
      client_id: DASHBOARD_CLIENT_ID,
      response_type: 'code',
      scope: 'openid email profile monitor',
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st',
    })) {
      authorize.searchParams.set(key, value);
    }
    let url = authorize.href;
    let code: string | null = null;
    const pages: string[] = [];
    for (let step = 0; step < 12 && code === null; step++) {
      const response = await request(url);
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get('location') ?? '', url);
        if (location.href.startsWith(redirectUri)) code = location.searchParams.get('code');
        url = location.href;
        continue;
      }
      const html = await response.text();
      assert.equal(response.status, 200, html);
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(action && prompt, `a form on the page: ${html.slice(0, 300)}`);
      pages.push(prompt);
      const form = new URLSearchParams({ prompt });
      if (prompt === 'login') {
        form.set('login', 'sips-lister');
        form.set('password', 'any');
      }
      const submitted = await request(new URL(action, url).href, form);
      assert.ok(submitted.status >= 300 && submitted.status < 400, `form submit redirects (${submitted.status})`);
      url = new URL(submitted.headers.get('location') ?? '', url).href;
    }
    assert.ok(code, `the flow ended at the redirect URI with a code (pages: ${pages.join(', ')})`);
    assert.deepEqual(pages, ['login', 'consent']);

    const tokenResponse = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(redirectUri).origin },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: DASHBOARD_CLIENT_ID,
        code_verifier: verifier,
      }),
    });
    const tokens = (await tokenResponse.json()) as { access_token?: string; refresh_token?: string };
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokens));
    assert.equal(tokenResponse.headers.get('access-control-allow-origin'), new URL(redirectUri).origin);
    const accessToken = tokens.access_token ?? '';
    const claims = decodeJwt(accessToken);
    assert.equal(claims.aud, DASHBOARD_CLIENT_ID);
    assert.deepEqual(claims.enduro, ['ingest:sips:list']);
    assert.equal(claims.email_verified, true);

    const auth = new OidcAuthenticator([config()], { toAttributes: (verified) => verified.enduro as string[] });
    const principal = accepted(await auth.authenticate(accessToken, 'ingest'));
    assert.deepEqual(principal.attributes, ['ingest:sips:list']);
    assert.equal(principal.label, 'oidc:sips@example.test');

    // Silent renewal by refresh token: a new access token, accepted too.
    const refreshed = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
        client_id: DASHBOARD_CLIENT_ID,
      }),
    });
    const renewed = (await refreshed.json()) as { access_token?: string };
    assert.equal(refreshed.status, 200, JSON.stringify(renewed));
    assert.notEqual(renewed.access_token, accessToken);
    accepted(await auth.authenticate(renewed.access_token, 'ingest'));
  });
});
