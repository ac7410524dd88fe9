// The dashboard signs in through a real OpenID provider (oidc-provider on
// loopback, its own login and consent pages) in Chromium: authorization code
// with PKCE, streams opened with the JWT access token the provider issued and
// the gateway verified (OidcAuthenticator, attributes from the token as
// Enduro reads them), a silent renewal that reopens them with the fresh token,
// and sign-out at the provider.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { type Browser, chromium } from 'playwright-core';
import { DASHBOARD_CLIENT_ID, startOidcProvider, type TestOidcProvider } from '../../test/support/oidc-provider.js';
import { until } from '../../test/support/sse-client.js';
import { OidcAuthenticator } from '../auth/oidc-authenticator.js';
import { TokenAuthenticator } from '../auth/static-tokens.js';
import type { Authenticator, AuthResult, StreamScope } from '../auth/types.js';
import { ingestCodec } from '../monitor/codec.js';
import type { MonitorEvent } from '../monitor/schemas.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { createGatewayServer, type Gateway, type StreamSource } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Renewal comes 60 s before expiry (oidc-client-ts' default): with 65 s, about 5 s after sign-in.
const ACCESS_TOKEN_TTL_S = 65;

/** The real verifier, recording each token a stream was opened with. */
class Recorded implements Authenticator {
  readonly presented: string[] = [];
  constructor(readonly inner: Authenticator) {}

  async authenticate(token: string | undefined, scope: StreamScope): Promise<AuthResult> {
    const result = await this.inner.authenticate(token, scope);
    if (result.ok && token !== undefined) this.presented.push(token);
    return result;
  }
}

/** A port free now, so the provider can name the gateway's callback before the gateway listens on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('dashboard sign-in through an OpenID provider, in Chromium', () => {
  let browser: Browser;
  let gateway: Gateway;
  let provider: TestOidcProvider;
  let url: string;
  let tokens: Recorded;
  const ingest = newIngestEventServiceInMem();
  const storage = newStorageEventServiceInMem();

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    provider = await startOidcProvider({ redirectUris: [`${url}/`], accessTokenTtlSec: ACCESS_TOKEN_TTL_S });
    const config = {
      providerURL: provider.issuer,
      clientID: DASHBOARD_CLIENT_ID,
      abac: { enabled: true, claimPath: 'enduro' },
    };
    tokens = new Recorded(new OidcAuthenticator([config]));
    gateway = createMonitorGateway({
      ingest,
      storage,
      authenticators: [tokens],
      dashboardSignIn: config,
      pingIntervalMs: 2000,
    });
    assert.equal(await gateway.listen({ port }), url);
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await Promise.all([ingest.close(), storage.close()]);
    await provider?.stop();
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
    // sips-lister holds ingest:sips:list: it is sent sip_created_event, and little else.
    await page.fill('input[name="login"]', 'sips-lister');
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    await page.click('button:has-text("Continue")'); // consent
    await page.waitForURL(`${url}/`);
    assert.equal(new URL(page.url()).search, '', 'the code and state leave the address bar');

    await page.locator('#conn-ingest[data-state="live"]').waitFor({ timeout: 10_000 });
    const first = tokens.presented[0];
    assert.ok(first !== undefined, 'the stream opened with a token the gateway verified');
    assert.equal(decodeJwt(first).iss, provider.issuer, 'a JWT access token the provider issued');
    await showsNewSip(page);

    // oidc-client-ts renews before expiry with the refresh token; the page reopens its stream with the new token.
    await until(
      () => tokens.presented.some((token) => token !== first),
      20_000,
      'a stream opened with a renewed token',
    );
    const renewed = tokens.presented.find((token) => token !== first);
    assert.ok(renewed !== undefined);
    assert.equal(decodeJwt(renewed).iss, provider.issuer);
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
      authenticator: new TokenAuthenticator([{ token: randomUUID() }]),
      streams: {},
      dashboardSignIn: { providerURL: 'http://127.0.0.1:1/realms/gone', clientID: DASHBOARD_CLIENT_ID },
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
    const server = createGatewayServer({
      authenticator: new TokenAuthenticator([{ token: randomUUID() }]),
      streams,
      dashboardSignIn,
    });
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
          authenticator: new TokenAuthenticator([{ token: randomUUID() }]),
          streams,
          dashboardSignIn: { providerURL: 'javascript:x', clientID: 'c' },
        }),
      /options\.dashboardSignIn\.providerURL must be an http\(s\) URL/,
    );
  });
});
