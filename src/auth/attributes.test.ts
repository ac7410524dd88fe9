import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError } from '../errors.js';
import { checkAttributes, parseAttributes } from './attributes.js';
import type { AbacConfig } from './types.js';

describe('checkAttributes (Enduro CheckAttributes)', () => {
  const cases: [user: readonly string[] | undefined, required: readonly string[], expected: boolean][] = [
    // The reference file's examples.
    [['ingest:*'], ['ingest:sips:workflows:list'], true],
    [['ingest:sips:*'], ['ingest:sips:list'], true],
    [['ingest:sips:*'], ['ingest:batches:list'], false],
    [['storage:aips:list'], ['storage:aips:list'], true],
    [['storage:aips:list'], ['storage:aips:read'], false],
    [[], ['ingest:sips:list'], false],
    [['*'], ['ingest:sips:list'], true],
    [['*'], ['storage:aips:workflows:list', 'ingest:batches:read'], true],
    // Disabled auth or ABAC: no list at all passes everything.
    [undefined, ['ingest:sips:list'], true],
    [undefined, [], true],
    // Every required attribute must be held.
    [['ingest:sips:list'], ['ingest:sips:list', 'ingest:sips:read'], false],
    [['ingest:sips:list', 'ingest:sips:read'], ['ingest:sips:list', 'ingest:sips:read'], true],
    [['ingest:*', 'storage:aips:list'], ['ingest:sips:read', 'storage:aips:list'], true],
    // An empty requirement passes anyone, as in Enduro's loop.
    [[], [], true],
    // Wildcards only at a colon boundary, only for ancestors.
    [['ingest:sip*'], ['ingest:sips:list'], false],
    [['ingest:sips:list:*'], ['ingest:sips:list'], false],
    [['ingest:sips:workflows:*'], ['ingest:sips:list'], false],
    [['ingest:sips:workflows:*'], ['ingest:sips:workflows:list'], true],
    [['storage:*'], ['ingest:sips:list'], false],
    [['ingest'], ['ingest:sips:list'], false],
    // A required wildcard is matched exactly or by a higher wildcard.
    [['ingest:sips:*'], ['ingest:sips:*'], true],
    [['ingest:*'], ['ingest:sips:*'], true],
    [['ingest:sips:list'], ['ingest:sips:*'], false],
    // A bare required attribute (no colon) has no ancestor but `*`.
    [['admin'], ['admin'], true],
    [['ingest:*'], ['admin'], false],
    // Case matters.
    [['INGEST:*'], ['ingest:sips:list'], false],
  ];
  for (const [user, required, expected] of cases) {
    it(`${JSON.stringify(user)} ${expected ? 'passes' : 'fails'} ${JSON.stringify(required)}`, () => {
      assert.equal(checkAttributes(user, required), expected);
    });
  }
});

describe('parseAttributes (Enduro parseAttributes)', () => {
  const abac = (overrides: Partial<AbacConfig>): AbacConfig => ({ enabled: true, claimPath: 'enduro', ...overrides });
  const ok: [
    name: string,
    claims: Record<string, unknown>,
    config: AbacConfig,
    expected: readonly string[] | undefined,
  ][] = [
    ['disabled: undefined, whatever the claims', { enduro: ['*'] }, { enabled: false, claimPath: '' }, undefined],
    ['a top-level claim', { enduro: ['ingest:sips:list', '*'] }, abac({}), ['ingest:sips:list', '*']],
    ['an empty list is kept empty (passes nothing)', { enduro: [] }, abac({}), []],
    ['non-string items are ignored', { enduro: ['a:b', 1, null, { x: 1 }, ['c'], true] }, abac({}), ['a:b']],
    [
      'a nested path split by the separator',
      { attributes: { enduro: ['ingest:*'] } },
      abac({ claimPath: 'attributes.enduro', claimPathSeparator: '.' }),
      ['ingest:*'],
    ],
    [
      'no separator: the dotted path is one top-level key',
      { 'attributes.enduro': ['storage:*'], attributes: { enduro: ['ingest:*'] } },
      abac({ claimPath: 'attributes.enduro' }),
      ['storage:*'],
    ],
    [
      'a multi-character separator, three levels',
      { a: { b: { c: ['x:y'] } } },
      abac({ claimPath: 'a::b::c', claimPathSeparator: '::' }),
      ['x:y'],
    ],
    [
      'the prefix filters and is cut off (the sample config example)',
      { enduro: ['enduro:*', 'unrelated'] },
      abac({ claimValuePrefix: 'enduro:' }),
      ['*'],
    ],
    [
      'nothing with the prefix: an empty list, not "no checks"',
      { enduro: ['unrelated', 'other'] },
      abac({ claimValuePrefix: 'enduro:' }),
      [],
    ],
    [
      'roles map to attributes, unknown roles give nothing, duplicates removed',
      { enduro: ['operator', 'readonly', 'visitor'] },
      abac({
        useRoles: true,
        rolesMapping: {
          admin: ['*'],
          operator: ['ingest:sips:list', 'ingest:sips:read', 'ingest:sips:workflows:list'],
          readonly: ['ingest:sips:list', 'ingest:sips:read'],
        },
      }),
      ['ingest:sips:list', 'ingest:sips:read', 'ingest:sips:workflows:list'],
    ],
    [
      'prefix then roles',
      { groups: ['enduro-admin', 'admin', 'enduro-nobody'] },
      abac({ claimPath: 'groups', claimValuePrefix: 'enduro-', useRoles: true, rolesMapping: { admin: ['*'] } }),
      ['*'],
    ],
    [
      'roles that map to nothing: empty',
      { enduro: ['visitor'] },
      abac({ useRoles: true, rolesMapping: { admin: ['*'] } }),
      [],
    ],
    [
      'a role named like an Object member is just an unknown role',
      { enduro: ['constructor', 'toString', '__proto__'] },
      abac({ useRoles: true, rolesMapping: {} }),
      [],
    ],
  ];
  for (const [name, claims, config, expected] of ok) {
    it(name, () => {
      assert.deepEqual(parseAttributes(claims, config), expected);
    });
  }

  const refused: [name: string, claims: Record<string, unknown>, config: AbacConfig, message: RegExp][] = [
    ['a missing claim', { other: ['*'] }, abac({}), /attributes not found in token, claim path: enduro/],
    ['a claim that is a string', { enduro: '*' }, abac({}), /not part of a multivalue claim/],
    ['a claim that is an object', { enduro: { 0: '*' } }, abac({}), /not part of a multivalue claim/],
    ['a claim that is null', { enduro: null }, abac({}), /not part of a multivalue claim/],
    [
      'a missing intermediate key',
      { attributes: {} },
      abac({ claimPath: 'attributes.enduro', claimPathSeparator: '.' }),
      /attributes not found in token, claim path: attributes.enduro/,
    ],
    [
      'an intermediate value that is not an object',
      { attributes: ['enduro'] },
      abac({ claimPath: 'attributes.enduro', claimPathSeparator: '.' }),
      /attributes not found/,
    ],
    [
      'a path through Object.prototype',
      {},
      abac({ claimPath: 'constructor.prototype', claimPathSeparator: '.' }),
      /attributes not found/,
    ],
  ];
  for (const [name, claims, config, message] of refused) {
    it(`refuses ${name} with an AuthError`, () => {
      assert.throws(
        () => parseAttributes(claims, config),
        (error: unknown) => {
          assert.ok(error instanceof AuthError);
          assert.equal(error.code, 'ERR_AUTH');
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('rejects a misconfiguration with a TypeError', () => {
    assert.throws(() => parseAttributes({ enduro: [] }, { enabled: true, claimPath: '' }), TypeError);
    assert.throws(() => parseAttributes({ enduro: [] }, abac({ useRoles: true })), TypeError);
  });
});
