/**
 * What the dashboard needs to sign users in through an OpenID provider, and
 * what the page may then talk to: the provider's origin joins the page's
 * `connect-src` (discovery, token and refresh requests), nothing else does.
 */

/** The OpenID provider and client the dashboard signs in with (authorization code with PKCE). */
export interface DashboardSignIn {
  /** The issuer URL, e.g. `https://keycloak.example/realms/artefactual` (Enduro's `providerURL`). */
  readonly providerURL: string;
  /** The public client the dashboard signs in as; its redirect URI is the dashboard's own URL (`/`). */
  readonly clientID: string;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeAttribute = (value: string): string => value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/**
 * The page with the provider filled in (empty: no OIDC sign-in, pasted tokens only).
 * @throws {TypeError} when `providerURL` is not an http(s) URL or `clientID` is empty.
 */
export function fillSignIn(html: string, signIn: DashboardSignIn | undefined): string {
  if (signIn !== undefined) providerOrigin(signIn);
  return html
    .replace('{{OIDC_AUTHORITY}}', escapeAttribute(signIn?.providerURL ?? ''))
    .replace('{{OIDC_CLIENT_ID}}', escapeAttribute(signIn?.clientID ?? ''));
}

/** The page headers with the provider's origin allowed in `connect-src`. */
export function pageHeadersFor<H extends { readonly 'content-security-policy': string }>(
  headers: H,
  signIn: DashboardSignIn | undefined,
): H {
  if (signIn === undefined) return headers;
  const csp = headers['content-security-policy'].replace(
    "connect-src 'self'",
    `connect-src 'self' ${providerOrigin(signIn)}`,
  );
  return { ...headers, 'content-security-policy': csp };
}

function providerOrigin(signIn: DashboardSignIn): string {
  let url: URL | undefined;
  try {
    url = new URL(signIn.providerURL);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `options.dashboardSignIn.providerURL must be an http(s) URL, got ${JSON.stringify(signIn.providerURL)}`,
    );
  }
  if (typeof signIn.clientID !== 'string' || signIn.clientID === '') {
    throw new TypeError('options.dashboardSignIn.clientID must be a non-empty string');
  }
  return url.origin;
}
