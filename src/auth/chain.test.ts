import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError } from '../errors.js';
import { chainAuthenticators } from './chain.js';
import { TokenAuthenticator } from './static-tokens.js';
import type { Authenticator, AuthResult, StreamScope } from './types.js';

/** A second token source that knows one token, answering asynchronously like an OIDC verifier. */
const source = (token: string, label: string): Authenticator => ({
  async authenticate(presented: string | undefined, scope: StreamScope): Promise<AuthResult> {
    if (presented !== token) return { ok: false, status: 401, message: `${label}: invalid token` };
    return { ok: true, principal: { label, scopes: new Set([scope]) } };
  },
});
const throwing = (error: Error): Authenticator => ({
  authenticate: () => {
    throw error;
  },
});

describe('chained token sources', () => {
  const statics = new TokenAuthenticator([{ token: 'static', scopes: ['ingest'], label: 'static' }]);

  it('accepts a token if any source accepts it, in order', async () => {
    const chain = chainAuthenticators([statics, source('oidc-a', 'a'), source('oidc-b', 'b')]);
    const a = await chain.authenticate('oidc-a', 'storage');
    const b = await chain.authenticate('oidc-b', 'storage');
    assert.ok(a.ok && b.ok);
    assert.equal(a.principal.label, 'a');
    assert.equal(b.principal.label, 'b');
    const first = await chainAuthenticators([source('same', 'first'), source('same', 'second')]).authenticate(
      'same',
      'ingest',
    );
    assert.ok(first.ok);
    assert.equal(first.principal.label, 'first');
  });

  it("refuses with 403 when a source knew the token for another stream, else with the first 401's message", async () => {
    const chain = chainAuthenticators([statics, source('oidc-a', 'a')]);
    assert.deepEqual(await chain.authenticate('static', 'storage'), {
      ok: false,
      status: 403,
      message: 'this token may not open the storage stream',
    });
    assert.deepEqual(await chain.authenticate('unknown', 'ingest'), {
      ok: false,
      status: 401,
      message: 'invalid bearer token',
    });
    assert.deepEqual(await chain.authenticate(undefined, 'ingest'), {
      ok: false,
      status: 401,
      message: 'missing bearer token',
    });
  });

  it('turns an AuthError into a 401, and keeps trying past a source that fails', async () => {
    const refusing = chainAuthenticators([throwing(new AuthError('attributes not found in token, claim path: x'))]);
    assert.deepEqual(await refusing.authenticate('t', 'ingest'), {
      ok: false,
      status: 401,
      message: 'attributes not found in token, claim path: x',
    });
    const down = new Error('provider unreachable');
    const chain = chainAuthenticators([throwing(down), source('oidc-b', 'b')]);
    const b = await chain.authenticate('oidc-b', 'ingest');
    assert.ok(b.ok, 'the reachable provider still accepts its token');
    await assert.rejects(
      async () => chain.authenticate('unknown', 'ingest'),
      (error: unknown) => error === down,
    );
  });
});
