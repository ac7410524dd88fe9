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

  it('parses attributes after "@", separated by "|", with or without scopes', () => {
    assert.deepEqual(parseTokenList('viewer@ingest:sips:*|storage:aips:list, ops:ingest@ingest:* ,a:b:storage,x@*'), [
      { token: 'viewer', attributes: ['ingest:sips:*', 'storage:aips:list'] },
      { token: 'ops', scopes: ['ingest'], attributes: ['ingest:*'] },
      { token: 'a:b', scopes: ['storage'] },
      { token: 'x', attributes: ['*'] },
    ]);
    for (const bad of ['t@', 't@a||b', 't@a| |b', '@ingest:*', ':ingest@*', 't:admin@*']) {
      assert.throws(() => parseTokenList(bad), TypeError, bad);
    }
  });

  it("gives a token's attributes to its principal, the same object on every request", () => {
    const withAttributes = new TokenAuthenticator([
      { token: 'reader', attributes: ['storage:aips:list'] },
      { token: 'nothing', attributes: [] },
      { token: 'open' },
    ]);
    const first = withAttributes.authenticate('reader', 'storage');
    const second = withAttributes.authenticate('reader', 'ingest');
    assert.ok(first.ok && second.ok);
    assert.deepEqual(first.principal.attributes, ['storage:aips:list']);
    assert.equal(first.principal, second.principal);
    const nothing = withAttributes.authenticate('nothing', 'ingest');
    assert.ok(nothing.ok);
    assert.deepEqual(nothing.principal.attributes, []);
    const open = withAttributes.authenticate('open', 'ingest');
    assert.ok(open.ok);
    assert.equal(open.principal.attributes, undefined);
    assert.throws(() => new TokenAuthenticator([{ token: 't', attributes: ['has space'] }]), TypeError);
    assert.throws(() => new TokenAuthenticator([{ token: 't', attributes: [''] }]), TypeError);
  });
});
