import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { type EnduroConfig, loadEnduroConfig } from './enduro-config.js';

const SAMPLE = resolve(import.meta.dirname, '../../test/fixtures/enduro/enduro.toml');

/** A minimal file around one `[[api.auth.oidc]]` table body (and its extra lines). */
function withOidc(body: string): string {
  return `[api.auth]\nenabled = true\n[[api.auth.oidc]]\nproviderURL = "https://id.example/realms/a"\nclientID = "enduro"\n${body}\n`;
}

function load(text: string, env: Record<string, string> = {}): EnduroConfig {
  return loadEnduroConfig({ text, origin: 'enduro.toml' }, env);
}

describe("Enduro's sample enduro.toml", () => {
  test('gives the event channels, auth and both OIDC clients, and ignores every other section', () => {
    assert.deepEqual(loadEnduroConfig({ path: SAMPLE }, {}), {
      ingest: { redisAddress: 'redis://redis.enduro-sdps:6379', redisChannel: 'enduro-ingest-events' },
      storage: { redisAddress: 'redis://redis.enduro-sdps:6379', redisChannel: 'enduro-storage-events' },
      auth: {
        enabled: true,
        oidc: [
          {
            providerURL: 'http://keycloak:7470/realms/artefactual',
            clientID: 'enduro',
            skipEmailVerifiedCheck: false,
            abac: {
              enabled: true,
              claimPath: 'enduro',
              claimPathSeparator: '',
              claimValuePrefix: '',
              useRoles: false,
            },
          },
          {
            providerURL: 'http://keycloak:7470/realms/artefactual',
            clientID: 'enduro-s2s',
            skipEmailVerifiedCheck: true,
          },
        ],
      },
    });
  });

  test('a missing file is a ConfigError naming it', () => {
    assert.throws(
      () => loadEnduroConfig({ path: '/nonexistent/enduro.toml' }, {}),
      (error) =>
        error instanceof ConfigError &&
        /\/nonexistent\/enduro\.toml: cannot read the file \(ENOENT\)/.test(error.message),
    );
  });
});

describe('values', () => {
  test('an empty file: nothing configured, auth disabled', () => {
    assert.deepEqual(load(''), {
      ingest: { redisAddress: undefined, redisChannel: undefined },
      storage: { redisAddress: undefined, redisChannel: undefined },
      auth: { enabled: false, oidc: [] },
    });
  });

  test('keys match case-insensitively, as in viper', () => {
    const config = load('[EVENT]\nREDISADDRESS = "redis://a:6379"\n[Storage.Event]\nRedisChannel = "s"\n');
    assert.equal(config.ingest.redisAddress, 'redis://a:6379');
    assert.equal(config.storage.redisChannel, 's');
  });

  test("rolesMapping as a JSON string (the sample's form) and as a TOML table give the same mapping", () => {
    const abac = '[api.auth.oidc.abac]\nenabled = true\nclaimPath = "roles"\nuseRoles = true\n';
    const json = load(withOidc(`${abac}rolesMapping = '{"admin": ["*"], "readonly": ["ingest:sips:list"]}'`));
    const table = load(
      withOidc(`${abac}[api.auth.oidc.abac.rolesMapping]\nadmin = ["*"]\nreadonly = ["ingest:sips:list"]`),
    );
    const expected = { admin: ['*'], readonly: ['ingest:sips:list'] };
    assert.deepEqual(json.auth.oidc[0]?.abac?.rolesMapping, expected);
    assert.deepEqual(table.auth.oidc[0]?.abac?.rolesMapping, expected);
  });

  test("booleans also read as Go's strconv.ParseBool strings (Enduro decodes weakly typed)", () => {
    assert.equal(load('[api.auth]\nenabled = "False"\n').auth.enabled, false);
    assert.equal(load(withOidc('skipEmailVerifiedCheck = "t"')).auth.oidc[0]?.skipEmailVerifiedCheck, true);
  });

  test('with auth disabled, incomplete OIDC tables are accepted (Enduro checks them only when enabled)', () => {
    const config = load('[api.auth]\nenabled = false\n[[api.auth.oidc]]\n[api.auth.oidc.abac]\nenabled = true\n');
    assert.equal(config.auth.enabled, false);
    assert.equal(config.auth.oidc.length, 1);
  });
});

describe('invalid values are rejected with the key', () => {
  const cases: { name: string; text: string; env?: Record<string, string>; message: RegExp }[] = [
    { name: 'not TOML', text: '[event\n', message: /enduro\.toml: not valid TOML \(line 1, column \d+\)/ },
    {
      name: 'address not a URL',
      text: '[event]\nredisAddress = "redis.enduro-sdps:6379"\n',
      message: /event\.redisAddress scheme/,
    },
    {
      name: 'address with a bad port',
      text: '[storage.event]\nredisAddress = "redis://h:0"\n',
      message: /storage\.event\.redisAddress port "0" is not a valid port/,
    },
    {
      name: 'address password is never shown',
      text: '[event]\nredisAddress = "redis://u:hunter2@h:x1"\n',
      message: /^enduro\.toml: event\.redisAddress (?!.*hunter2)/,
    },
    {
      name: 'channel not a string',
      text: '[event]\nredisChannel = 5\n',
      message: /event\.redisChannel must be a string, got 5/,
    },
    {
      name: 'empty channel',
      text: '[storage.event]\nredisChannel = ""\n',
      message: /storage\.event\.redisChannel must not be empty/,
    },
    { name: 'event not a table', text: 'event = "x"\n', message: /event must be a table/ },
    {
      name: 'enabled not a boolean',
      text: '[api.auth]\nenabled = "yes"\n',
      message: /api\.auth\.enabled must be true or false, got "yes"/,
    },
    {
      name: 'enabled without providers',
      text: '[api.auth]\nenabled = true\n',
      message: /api\.auth\.oidc needs at least one/,
    },
    {
      name: 'oidc a single table',
      text: '[api.auth]\nenabled = true\n[api.auth.oidc]\nclientID = "x"\n',
      message: /api\.auth\.oidc must be an array of tables/,
    },
    {
      name: 'no providerURL',
      text: '[api.auth]\nenabled = true\n[[api.auth.oidc]]\nclientID = "enduro"\n',
      message: /api\.auth\.oidc\[0\]\.providerURL is required/,
    },
    {
      name: 'no clientID in the second table',
      text: `${withOidc('')}[[api.auth.oidc]]\nproviderURL = "https://id.example/"\n`,
      message: /api\.auth\.oidc\[1\]\.clientID is required/,
    },
    {
      name: 'providerURL not http(s)',
      text: withOidc('').replace('https://id.example/realms/a', 'keycloak:7470'),
      message: /api\.auth\.oidc\[0\]\.providerURL must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      name: 'skipEmailVerifiedCheck not a boolean',
      text: withOidc('skipEmailVerifiedCheck = 1'),
      message: /api\.auth\.oidc\[0\]\.skipEmailVerifiedCheck must be true or false, got 1/,
    },
    {
      name: 'abac enabled without claimPath',
      text: withOidc('[api.auth.oidc.abac]\nenabled = true'),
      message: /api\.auth\.oidc\[0\]\.abac\.claimPath is required when abac is enabled/,
    },
    {
      name: 'useRoles without a mapping',
      text: withOidc('[api.auth.oidc.abac]\nenabled = true\nclaimPath = "r"\nuseRoles = true\nrolesMapping = ""'),
      message: /api\.auth\.oidc\[0\]\.abac\.rolesMapping needs at least one role/,
    },
    {
      name: 'rolesMapping not JSON',
      text: withOidc('[api.auth.oidc.abac]\nrolesMapping = \'{admin: ["*"]}\''),
      message: /api\.auth\.oidc\[0\]\.abac\.rolesMapping is not valid JSON/,
    },
    {
      name: 'rolesMapping role to a string',
      text: withOidc('[api.auth.oidc.abac]\nrolesMapping = \'{"admin": "*"}\''),
      message: /api\.auth\.oidc\[0\]\.abac\.rolesMapping role "admin" must map to a list of strings/,
    },
    {
      name: 'rolesMapping a list',
      text: withOidc('[api.auth.oidc.abac]\nrolesMapping = \'["*"]\''),
      message: /api\.auth\.oidc\[0\]\.abac\.rolesMapping must map role names to lists of attributes/,
    },
    {
      name: 'a bad override names its variable',
      text: '[event]\nredisAddress = "redis://h:6379"\n',
      env: { ENDURO_EVENT_REDISADDRESS: 'http://h' },
      message: /event\.redisAddress \(from ENDURO_EVENT_REDISADDRESS\) scheme "http:" is not supported/,
    },
    {
      name: 'a bad boolean override names its variable',
      text: '[api.auth]\nenabled = false\n',
      env: { ENDURO_API_AUTH_ENABLED: 'on' },
      message: /api\.auth\.enabled \(from ENDURO_API_AUTH_ENABLED\) must be true or false, got "on"/,
    },
    {
      name: 'the array of tables from the environment',
      text: withOidc(''),
      env: { ENDURO_API_AUTH_OIDC: 'x' },
      message: /api\.auth\.oidc cannot be set from the environment \(ENDURO_API_AUTH_OIDC\)/,
    },
  ];
  for (const { name, text, env, message } of cases) {
    test(name, () => {
      assert.throws(
        () => load(text, env),
        (error) => error instanceof ConfigError && error.code === 'ERR_CONFIG' && message.test(error.message),
      );
    });
  }
});

describe('ENDURO_ environment overrides (viper AutomaticEnv)', () => {
  test('override the keys the file sets', () => {
    const config = loadEnduroConfig(
      { path: SAMPLE },
      {
        ENDURO_EVENT_REDISADDRESS: 'redis://other:6380/1',
        ENDURO_EVENT_REDISCHANNEL: 'ingest-x',
        ENDURO_STORAGE_EVENT_REDISADDRESS: 'rediss://secure:6390',
        ENDURO_STORAGE_EVENT_REDISCHANNEL: 'storage-x',
        ENDURO_API_AUTH_ENABLED: 'false',
      },
    );
    assert.deepEqual(config.ingest, { redisAddress: 'redis://other:6380/1', redisChannel: 'ingest-x' });
    assert.deepEqual(config.storage, { redisAddress: 'rediss://secure:6390', redisChannel: 'storage-x' });
    assert.equal(config.auth.enabled, false);
  });

  test('an empty variable counts as unset', () => {
    const config = loadEnduroConfig({ path: SAMPLE }, { ENDURO_EVENT_REDISCHANNEL: '', ENDURO_API_AUTH_ENABLED: '' });
    assert.equal(config.ingest.redisChannel, 'enduro-ingest-events');
    assert.equal(config.auth.enabled, true);
  });

  test('a key the file does not set is not overridden (viper only unmarshals known keys)', () => {
    const config = load('[event]\nredisChannel = "i"\n', {
      ENDURO_EVENT_REDISADDRESS: 'redis://other:6380',
      ENDURO_STORAGE_EVENT_REDISCHANNEL: 's',
    });
    assert.deepEqual(config.ingest, { redisAddress: undefined, redisChannel: 'i' });
    assert.deepEqual(config.storage, { redisAddress: undefined, redisChannel: undefined });
  });

  test('entries of [[api.auth.oidc]] have no variables: ENDURO_API_AUTH_OIDC_0_CLIENTID changes nothing', () => {
    const config = loadEnduroConfig({ path: SAMPLE }, { ENDURO_API_AUTH_OIDC_0_CLIENTID: 'other' });
    assert.equal(config.auth.oidc[0]?.clientID, 'enduro');
  });

  test('variable names are upper case (viper upper-cases the key; a lower-case name is another variable)', () => {
    const config = loadEnduroConfig({ path: SAMPLE }, { enduro_event_redischannel: 'lower' });
    assert.equal(config.ingest.redisChannel, 'enduro-ingest-events');
  });
});
