import { AuthError } from '../errors.js';
import type { Authenticator, AuthResult, StreamScope } from './types.js';

/**
 * Tries each source in order and accepts the token as soon as one accepts it
 * (static tokens first, then e.g. OIDC providers). When none does, a 403 (a
 * source knew the token but not for this stream) wins over a 401, and the
 * first refusal of that status gives the message. An {@link AuthError} thrown
 * by a source is its refusal (401 with the error's message); any other error
 * (a provider that cannot be reached) does not stop the other sources, and is
 * thrown when none of them accepted the token or answered 403.
 */
export function chainAuthenticators(sources: readonly Authenticator[]): Authenticator {
  return {
    async authenticate(token: string | undefined, scope: StreamScope): Promise<AuthResult> {
      let refusal: Extract<AuthResult, { ok: false }> | undefined;
      let failure: { error: unknown } | undefined;
      for (const source of sources) {
        let result: AuthResult;
        try {
          result = await source.authenticate(token, scope);
        } catch (error) {
          if (!(error instanceof AuthError)) {
            failure ??= { error };
            continue;
          }
          result = { ok: false, status: 401, message: error.message };
        }
        if (result.ok) return result;
        if (refusal === undefined || (refusal.status === 401 && result.status === 403)) refusal = result;
      }
      // A known token's 403 stands; otherwise the token may have been the unreachable provider's.
      if (failure !== undefined && refusal?.status !== 403) throw failure.error;
      return refusal ?? { ok: false, status: 401, message: 'invalid bearer token' };
    },
  };
}
