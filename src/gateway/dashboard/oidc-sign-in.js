// Sign-in through the gateway's OpenID provider, as Enduro's dashboard does it:
// authorization code with PKCE through oidc-client-ts (served by the gateway
// from its own node_modules, loaded only when a provider is configured). The
// session lives in this tab's sessionStorage; oidc-client-ts renews the access
// token before it expires (with the refresh token the provider gave), and each
// renewal is handed to the page so it can reopen its streams with it.

const CLIENT_SCRIPT = '/assets/oidc-client-ts.js';

const metaContent = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content')?.trim() ?? '';

/** The provider the gateway names in the page, or undefined when it names none (pasted tokens only). */
export function oidcSettings() {
  const authority = metaContent('tidings-oidc-authority');
  const clientId = metaContent('tidings-oidc-client-id');
  if (!authority || !clientId || authority.startsWith('{{')) return undefined;
  return { authority, clientId, scope: metaContent('tidings-oidc-scopes') || 'openid email profile' };
}

/** oidc-client-ts' browser build defines one global, `oidc`. */
function loadClient() {
  if (window.oidc) return Promise.resolve(window.oidc);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = CLIENT_SCRIPT;
    script.onload = () => (window.oidc ? resolve(window.oidc) : reject(new Error('oidc-client-ts did not load')));
    script.onerror = () => reject(new Error('oidc-client-ts did not load'));
    document.head.append(script);
  });
}

/**
 * Starts the OIDC session: completes a sign-in the provider redirected back
 * with, or resumes the one this tab holds.
 * @param settings from {@link oidcSettings}
 * @param events `renewed(accessToken)` after every silent renewal; `ended(message)` when the session is lost.
 * @returns `{ accessToken, signIn(), signOut(), forget() }`; `accessToken` is undefined when nobody is signed in.
 */
export async function startOidcSession(settings, events) {
  const { UserManager, WebStorageStateStore } = await loadClient();
  const home = `${window.location.origin}/`;
  const manager = new UserManager({
    authority: settings.authority,
    client_id: settings.clientId,
    redirect_uri: home,
    post_logout_redirect_uri: home,
    response_type: 'code',
    scope: settings.scope,
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });

  let error;
  const query = new URLSearchParams(window.location.search);
  if (query.has('state') && (query.has('code') || query.has('error'))) {
    try {
      await manager.signinCallback();
    } catch (cause) {
      error = `Sign-in failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    }
    // The code is single-use and the state is spent: keep neither in the address bar or history.
    history.replaceState(null, '', window.location.pathname);
  }
  const user = await manager.getUser();
  // Registered after the callback, so this fires for renewals only.
  manager.events.addUserLoaded((renewed) => events.renewed(renewed.access_token));
  manager.events.addSilentRenewError(() => events.ended('Your session could not be renewed: sign in again.'));
  manager.events.addAccessTokenExpired(() => events.ended('Your session expired: sign in again.'));

  return {
    accessToken: user && !user.expired ? user.access_token : undefined,
    error,
    signIn: () => manager.signinRedirect(),
    signOut: () => manager.signoutRedirect(),
    forget: () => manager.removeUser(),
  };
}
