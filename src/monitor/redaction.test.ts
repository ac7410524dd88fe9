import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalFixtures } from '../../test/fixtures/load.js';
import { storageCodec } from './codec.js';
import { encodeRedactedStorageEvent, LOCATION_CREDENTIAL_FIELDS, redactStorageEvent } from './redaction.js';
import type { StorageMonitorEvent } from './schemas.js';

const storage = canonicalFixtures().filter((f) => f.union === 'storage');

function event(file: string): StorageMonitorEvent {
  const result = storageCodec.decode(storage.find((f) => f.file === file)!.text);
  assert.ok(result.ok);
  return result.event;
}

function configOf(e: unknown): Record<string, unknown> {
  return (e as { value: { item: { config: { value: Record<string, unknown> } } } }).value.item.config.value;
}

describe('redactStorageEvent', () => {
  test('removes S3 credentials and keeps the rest', () => {
    const input = event('location_created_event.full.json');
    const before = structuredClone(input);
    const redacted = redactStorageEvent(input);
    assert.deepEqual(configOf(redacted), {
      bucket: 'aips',
      region: 'eu-west-1',
      endpoint: 'https://s3.example.org',
      path_style: true,
      profile: 'enduro',
    });
    assert.deepEqual(input, before, 'the input is not mutated');
    assert.equal(configOf(input).secret, 's3-secret-value');
  });

  test('removes the SFTP password and the AMSS api key', () => {
    assert.deepEqual(configOf(redactStorageEvent(event('location_updated_event.sftp.json'))), {
      address: 'sftp.example.org:22',
      username: 'enduro',
      directory: '/aips',
    });
    assert.deepEqual(configOf(redactStorageEvent(event('location_updated_event.amss.json'))), {
      url: 'https://amss.example.org',
      username: 'enduro',
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
      for (const field of LOCATION_CREDENTIAL_FIELDS) assert.ok(!text.includes(`"${field}"`), `${f.file} has ${field}`);
      assert.ok(text.startsWith('{"value":{"type":') && text.endsWith(',"traceparent":"t"}'));
    }
  });

  test('drops fields the catalogue does not know, so a new secret cannot slip through', () => {
    const input = event('location_created_event.full.json');
    (configOf(input) as Record<string, unknown>).access_token = 'leak';
    assert.equal(configOf(redactStorageEvent(input)).access_token, undefined);
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
