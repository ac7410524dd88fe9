// The dashboard signs in through a real OpenID provider (oidc-provider on
// loopback, its own login and consent pages) in Chromium: authorization code
// with PKCE, streams opened with the access token, a silent renewal that
// reopens them with the fresh token, and sign-out at the provider.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { type Browser, chromium } from 'playwright-core';
import { until } from '../../test/support/sse-client.js';
import type { Authenticator, AuthResult } from '../auth/types.js';
import { ingestCodec } from '../monitor/codec.js';
import type { MonitorEvent } from '../monitor/schemas.js';
import { newIngestEventServiceInMem } from '../monitor/services.js';
import { createGatewayServer, type Gateway, type StreamSource } from './gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CLIENT_ID = 'tidings-dashboard';
// Renewal comes 60 s before expiry (oidc-client-ts' default): with 65 s, about 5 s after sign-in.
const ACCESS_TOKEN_TTL_S = 65;

/**
 * Accepts exactly the access tokens the provider issued and has not seen
 * expire, and records each one a stream was opened with. (Verifying tokens
 * is the OIDC authenticator's job, tested on its own; this test is about the
 * page.)
 */
class IssuedTokens implements Authenticator {
  readonly issued = new Map<string, number>();
  readonly presented: string[] = [];

  authenticate(presented: string | undefined): AuthResult {
    const expiresAt = presented === undefined ? undefined : this.issued.get(presented);
    if (presented === undefined || expiresAt === undefined || expiresAt <= Date.now()) {
      return { ok: false, status: 401, message: 'invalid bearer token' };
    }
    this.presented.push(presented);
    return { ok: true, principal: { label: 'oidc', scopes: new Set(['ingest', 'storage']) } };
  }
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('dashboard sign-in through an OpenID provider, in Chromium', () => {
  let browser: Browser;
  let gateway: Gateway;
  let url: string;
  const providerServer = createServer();
  const tokens = new IssuedTokens();
  const ingest = newIngestEventServiceInMem();

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    // The provider's port first: the gateway names it in its page, and the provider needs the gateway's URL.
    const issuer = `http://127.0.0.1:${await listening(providerServer)}`;
    const source: StreamSource<MonitorEvent> = {
      service: ingest,
      toWire: (event) => ingestCodec.encode(event),
      ping: (message) => ingestCodec.encode({ type: 'ingest_ping_event', value: { message } }),
    };
    gateway = createGatewayServer({
      authenticator: tokens,
      streams: { ingest: source as unknown as StreamSource<object> },
      dashboardSignIn: { providerURL: issuer, clientID: CLIENT_ID },
      pingIntervalMs: 2000,
    });
    url = await gateway.listen();
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [`${url}/`],
          post_logout_redirect_uris: [`${url}/`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      findAccount: (_ctx, sub) => ({
        accountId: sub,
        claims: () => ({ sub, email: `${sub}@example.org`, email_verified: true }),
      }),
      jwks: { keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })] },
      ttl: {
        AccessToken: ACCESS_TOKEN_TTL_S,
        IdToken: 3600,
        Grant: 3600,
        Session: 3600,
        Interaction: 600,
        RefreshToken: 3600,
      },
      // Keycloak gives a browser client a refresh token with every code; oidc-provider only with offline_access.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      clientBasedCORS: (_ctx, origin) => origin === url,
      features: { devInteractions: { enabled: true } },
    });
    // An opaque access token's value is its jti; it is stored ("saved") as it is issued.
    provider.on('access_token.saved', (token) => {
      tokens.issued.set(token.jti, Date.now() + ACCESS_TOKEN_TTL_S * 1000);
    });
    providerServer.on('request', provider.callback());
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await ingest.close();
    providerServer.closeAllConnections();
    await new Promise((resolve) => providerServer.close(resolve));
  });

  /** Publishes a SIP and waits for the page to show it. */
  async function showsNewSip(page: import('playwright-core').Page): Promise<void> {
    const uuid = randomUUID();
    const event = ingestCodec.decode(
      `{"value":{"type":"sip_created_event","value":{"uuid":"${uuid}","item":{"uuid":"${uuid}","status":"queued","created_at":"2024-05-13T09:21:44.118233Z"}}}}`,
    );
    assert.ok(event.ok);
    ingest.publish(event.event);
    await page.locator(`#sips-body tr.sip-row[data-uuid="${uuid}"]`).waitFor({ timeout: 10_000 });
  }

  it('signs in at the provider, streams with the access token, renews it and reconnects, signs out', async () => {
    const page = await browser.newPage();
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    // Nothing leaves the machine (the provider's login page links a web font): no wait on the network.
    await page.route(
      (address) => address.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
    await page.goto(`${url}/`);
    // Signed out: both ways in are offered.
    await page.locator('#oidc-sign-in-button').waitFor({ state: 'visible' });
    assert.ok(await page.locator('#sign-in-form').isVisible(), 'the pasted-token form stays');

    await page.click('#oidc-sign-in-button');
    await page.waitForURL((address) => address.origin !== url);
    await page.fill('input[name="login"]', 'alice');
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    await page.click('button:has-text("Continue")'); // consent
    await page.waitForURL(`${url}/`);
    assert.equal(new URL(page.url()).search, '', 'the code and state leave the address bar');

    await page.locator('#conn-ingest[data-state="live"]').waitFor({ timeout: 10_000 });
    const first = tokens.presented[0];
    assert.ok(
      first !== undefined && tokens.issued.has(first),
      'the stream opened with an access token the provider issued',
    );
    await showsNewSip(page);

    // oidc-client-ts renews before expiry with the refresh token; the page reopens its stream with the new token.
    await until(
      () => tokens.presented.some((token) => token !== first),
      20_000,
      'a stream opened with a renewed token',
    );
    const renewed = tokens.presented.find((token) => token !== first);
    assert.ok(renewed !== undefined && tokens.issued.has(renewed));
    await page.locator('#conn-ingest[data-state="live"]').waitFor({ timeout: 10_000 });
    await showsNewSip(page);

    // Sign-out ends the provider's session too and comes back signed out.
    await page.click('#sign-out');
    await page.waitForURL((address) => address.origin !== url);
    await page.click('button[value="yes"]');
    await page.waitForURL(`${url}/`);
    await page.locator('#oidc-sign-in-button').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#main').isHidden(), true);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('with the provider unreachable, says so and keeps the pasted-token form', async () => {
    const offline = createGatewayServer({
      authenticator: tokens,
      streams: {},
      dashboardSignIn: { providerURL: 'http://127.0.0.1:1/realms/gone', clientID: CLIENT_ID },
    });
    const base = await offline.listen();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.click('#oidc-sign-in-button');
      await page.locator('#sign-in-error', { hasText: 'The sign-in service cannot be reached' }).waitFor();
      assert.ok(await page.locator('#sign-in-form').isVisible());
      assert.equal(new URL(page.url()).origin, base);
      await page.close();
    } finally {
      await offline.close();
    }
  });
});

describe('the page names the provider (no browser)', () => {
  const empty = newIngestEventServiceInMem();
  const source: StreamSource<MonitorEvent> = {
    service: empty,
    toWire: (event) => ingestCodec.encode(event),
    ping: (message) => ingestCodec.encode({ type: 'ingest_ping_event', value: { message } }),
  };
  const streams = { ingest: source as unknown as StreamSource<object> };
  after(() => empty.close());

  async function page(dashboardSignIn?: { providerURL: string; clientID: string }) {
    const server = createGatewayServer({ authenticator: new IssuedTokens(), streams, dashboardSignIn });
    try {
      const response = await fetch(`${await server.listen()}/`);
      return { html: await response.text(), csp: response.headers.get('content-security-policy') ?? '' };
    } finally {
      await server.close();
    }
  }

  it('in meta tags, escaped, with only its origin added to connect-src', async () => {
    const { html, csp } = await page({ providerURL: 'https://id.example:8443/realms/a"b', clientID: '<enduro>' });
    assert.match(html, /<meta name="tidings-oidc-authority" content="https:\/\/id\.example:8443\/realms\/a&quot;b">/);
    assert.match(html, /<meta name="tidings-oidc-client-id" content="&lt;enduro&gt;">/);
    assert.match(csp, /connect-src 'self' https:\/\/id\.example:8443;/);
  });

  it('without a provider: empty meta tags and connect-src self only', async () => {
    const { html, csp } = await page();
    assert.match(html, /<meta name="tidings-oidc-authority" content="">/);
    assert.match(csp, /connect-src 'self';/);
  });

  it('a provider URL that is not http(s) is a TypeError naming the option', () => {
    assert.throws(
      () =>
        createGatewayServer({
          authenticator: new IssuedTokens(),
          streams,
          dashboardSignIn: { providerURL: 'javascript:x', clientID: 'c' },
        }),
      /options\.dashboardSignIn\.providerURL must be an http\(s\) URL/,
    );
  });
});
