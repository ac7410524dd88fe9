import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTokenList, presentedToken, TokenAuthenticator } from './static-tokens.js';

describe('token auth', () => {
  const auth = new TokenAuthenticator([
    { token: 'all-access' },
    { token: 'ingest-only', scopes: ['ingest'], label: 'dashboard' },
  ]);

  it('accepts a known token for its scopes', () => {
    const result = auth.authenticate('all-access', 'storage');
    assert.ok(result.ok);
    assert.equal(result.principal.label, 'token-1');
    const scoped = auth.authenticate('ingest-only', 'ingest');
    assert.ok(scoped.ok);
    assert.equal(scoped.principal.label, 'dashboard');
  });

  it('answers 401 without or with a wrong token, 403 outside its scope', () => {
    assert.deepEqual(auth.authenticate(undefined, 'ingest'), {
      ok: false,
      status: 401,
      message: 'missing bearer token',
    });
    assert.equal((auth.authenticate('all-acces', 'ingest') as { status: number }).status, 401);
    assert.equal((auth.authenticate('all-access-and-more', 'ingest') as { status: number }).status, 401);
    assert.equal((auth.authenticate('ingest-only', 'storage') as { status: number }).status, 403);
  });

  it('reads the header first, then the access_token query parameter', () => {
    assert.equal(presentedToken('Bearer abc', '/x?access_token=zzz'), 'abc');
    assert.equal(presentedToken('bearer   abc ', '/x'), 'abc');
    assert.equal(presentedToken('Basic abc', '/x?access_token=zzz'), '');
    assert.equal(presentedToken(undefined, '/x?access_token=zzz'), 'zzz');
    assert.equal(presentedToken(undefined, '/x'), undefined);
  });

  it('parses the compact token list', () => {
    assert.deepEqual(parseTokenList('a, b:ingest ,c:ingest+storage,'), [
      { token: 'a' },
      { token: 'b', scopes: ['ingest'] },
      { token: 'c', scopes: ['ingest', 'storage'] },
    ]);
    assert.throws(() => parseTokenList('a:admin'), TypeError);
    assert.throws(() => new TokenAuthenticator([{ token: '' }]), TypeError);
  });
});
