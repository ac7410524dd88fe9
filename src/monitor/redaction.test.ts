import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import {
  LOCATION_ENCODINGS,
  locationMessage,
  type PlantedConfig,
  plantedConfigArb,
} from '../../test/fixtures/planted-secrets.js';
import { storageCodec } from './codec.js';
import { encodeRedactedStorageEvent, LOCATION_CONFIG_VIEW, redactStorageEvent } from './redaction.js';
import type { StorageMonitorEvent } from './schemas.js';

const storage = canonicalFixtures().filter((f) => f.union === 'storage');

function decoded(text: string): StorageMonitorEvent {
  const result = storageCodec.decode(text);
  if (!result.ok) assert.fail(`${text} does not decode: ${result.error.message}`);
  return result.event;
}

const event = (file: string): StorageMonitorEvent => decoded(storage.find((f) => f.file === file)!.text);

function configOf(e: unknown): { type: string; value: Record<string, unknown> } | undefined {
  return (e as { value: { item: { config?: { type: string; value: Record<string, unknown> } } } }).value.item.config;
}

/** A location event whose config is `config`, however odd (built by hand, not decoded). */
function withConfig(config: unknown): StorageMonitorEvent {
  const e = structuredClone(event('location_updated_event.full.json'));
  (e.value as { item: { config: unknown } }).item.config = config;
  return e;
}

describe('redactStorageEvent', () => {
  test('shows each fixture kind only what the allow-list names', () => {
    const input = event('location_created_event.full.json');
    const before = structuredClone(input);
    assert.deepEqual(configOf(redactStorageEvent(input)), {
      type: 's3',
      value: { bucket: 'aips', region: 'eu-west-1', endpoint: 'https://s3.example.org', path_style: true },
    });
    assert.deepEqual(input, before, 'the input is not mutated');
    assert.equal(configOf(input)?.value.secret, 's3-secret-value');
    assert.deepEqual(configOf(redactStorageEvent(event('location_updated_event.sftp.json'))), {
      type: 'sftp',
      value: { address: 'sftp.example.org:22', directory: '/aips' },
    });
    assert.deepEqual(configOf(redactStorageEvent(event('location_updated_event.amss.json'))), {
      type: 'amss',
      value: { url: 'https://amss.example.org' },
    });
    assert.deepEqual(configOf(redactStorageEvent(event('location_updated_event.url.json'))), {
      type: 'url',
      value: { url: 'file:///var/aips' },
    });
  });

  test('URLs and addresses keep scheme, host, port and path, never userinfo, query or fragment', () => {
    const cases: Array<[kind: string, field: string, input: string, shown: string | undefined]> = [
      [
        'amss',
        'url',
        'https://enduro:hunter2@amss.example.org:8000/api/v2/?api_key=k&username=u#frag',
        'https://amss.example.org:8000/api/v2/',
      ],
      [
        'url',
        'url',
        's3://AKIA:SECRET@bucket.example.org/aips?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F1',
        's3://bucket.example.org/aips',
      ],
      ['url', 'url', 'https://user:SEC/RET@host.example.org/x', undefined],
      ['url', 'url', 'https://user:123/RET@host.example.org/x', undefined],
      ['url', 'url', 'https://user:1?2@host/x', undefined],
      ['url', 'url', 'https://user:SEC#RET@host/x', undefined],
      ['url', 'url', 'https://us er:p@ss w%rd@[::1]:9000/a', 'https://[::1]:9000/a'],
      ['url', 'url', 'https://host/p?token=SEC@RET', undefined],
      ['url', 'url', 'not a url with password=hunter2', undefined],
      ['url', 'url', 'hunter2', undefined],
      ['url', 'url', 'https://', undefined],
      ['s3', 'endpoint', 'http://minio:9000', 'http://minio:9000'],
      ['s3', 'endpoint', 'minio:9000', undefined],
      ['sftp', 'address', 'enduro:hunter2@sftp.example.org:22', 'sftp.example.org:22'],
      ['sftp', 'address', 'enduro:hun/ter2@sftp.example.org:22', undefined],
      ['sftp', 'address', '10.0.0.7', '10.0.0.7'],
      ['sftp', 'address', 'sftp://enduro@sftp.example.org:2222/home', 'sftp.example.org:2222'],
      ['sftp', 'address', 'host:port', undefined],
      ['sftp', 'address', 'höst:22', undefined],
    ];
    for (const [type, field, input, shown] of cases) {
      const redacted = redactStorageEvent(withConfig({ type, value: { [field]: input } }));
      assert.deepEqual(configOf(redacted)?.value, shown === undefined ? {} : { [field]: shown }, input);
    }
  });

  test('the kind decides what shows, whatever shape the value has; unknown kinds and fields are dropped', () => {
    const s3Value = { bucket: 'b', region: 'r', key: 'AKIA', secret: 'hunter2', url: 'https://u:p@h/' };
    assert.deepEqual(configOf(redactStorageEvent(withConfig({ type: 'url', value: s3Value }))), {
      type: 'url',
      value: {},
    });
    assert.deepEqual(configOf(redactStorageEvent(withConfig({ type: 'amss', value: { password: 'p' } }))), {
      type: 'amss',
      value: {},
    });
    assert.equal(configOf(redactStorageEvent(withConfig({ type: 'ftp', value: { url: 'ftp://h/' } }))), undefined);
    assert.equal(configOf(redactStorageEvent(withConfig({ type: '__proto__', value: {} }))), undefined);
    assert.equal(configOf(redactStorageEvent(withConfig('s3://AKIA:hunter2@b/'))), undefined);
    const input = event('location_created_event.full.json');
    (configOf(input)!.value as Record<string, unknown>).access_token = 'leak';
    (configOf(input)!.value as Record<string, unknown>).bucket = 7;
    assert.deepEqual(configOf(redactStorageEvent(input))?.value, {
      region: 'eu-west-1',
      endpoint: 'https://s3.example.org',
      path_style: true,
    });
  });

  test('no credential survives in the wire text of any storage fixture', () => {
    const secrets = [
      'AKIAEXAMPLE',
      's3-secret-value',
      'session-token-value',
      'sftp-password-value',
      'amss-api-key-value',
    ];
    for (const f of storage) {
      const text = encodeRedactedStorageEvent(event(f.file), { traceparent: 't' });
      for (const secret of secrets) assert.ok(!text.includes(secret), `${f.file} leaks ${secret}`);
      for (const field of ['api_key', 'key', 'secret', 'token', 'password', 'username', 'profile']) {
        assert.ok(!text.includes(`"${field}"`), `${f.file} has ${field}`);
      }
      assert.ok(text.startsWith('{"value":{"type":') && text.endsWith(',"traceparent":"t"}'));
    }
  });

  test('leaves events without a location unchanged, as copies', () => {
    for (const f of storage.filter((s) => !s.type.startsWith('location_'))) {
      const input = event(f.file);
      const redacted = redactStorageEvent(input);
      assert.deepEqual(redacted, input);
      assert.notEqual(redacted.value, input.value);
    }
    const minimal = event('location_created_event.minimal.json');
    assert.deepEqual(redactStorageEvent(minimal), minimal);
  });
});

/** What a viewer must see of `planted`, and that no secret marker reached `text`. */
function assertViewOf(planted: PlantedConfig, redacted: unknown, text: string): void {
  for (const marker of planted.markers) assert.ok(!text.includes(marker), `${marker} leaked: ${text}`);
  const config = configOf(redacted);
  assert.equal(config?.type, planted.kind);
  const allowed = Object.keys(LOCATION_CONFIG_VIEW[planted.kind]);
  for (const field of Object.keys(config?.value ?? {})) assert.ok(allowed.includes(field), `${field} is shown`);
  for (const [field, value] of Object.entries(planted.visible)) assert.equal(config?.value[field], value, field);
  for (const [field, locator] of Object.entries(planted.locators)) {
    const shown: unknown = config?.value[field];
    if (locator.unambiguous) assert.equal(shown, locator.clean, `${field} of ${locator.text}`);
    else assert.ok(shown === undefined || shown === locator.clean, `${field} of ${locator.text} shows ${shown}`);
  }
}

describe('redaction, as a property', () => {
  for (const encoding of LOCATION_ENCODINGS) {
    test(`secrets planted in every string field of every config kind never show (${encoding} encoding)`, () => {
      fc.assert(
        fc.property(plantedConfigArb, fc.uuid(), (planted, uuid) => {
          const input = decoded(locationMessage(planted, uuid, encoding));
          const text = encodeRedactedStorageEvent(input, { traceparent: 't' });
          assertViewOf(planted, JSON.parse(text).value, text);
        }),
        { numRuns: 1500 },
      );
    });
  }
});
