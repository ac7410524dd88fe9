import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../errors.js';
import { checkSubject, parseNatsAddress, redactNatsAddress } from './nats-address.js';

describe('NATS addresses and subjects', () => {
  it('takes one URL, a comma-separated list or an array', () => {
    assert.deepEqual(parseNatsAddress('nats://127.0.0.1:4222'), ['nats://127.0.0.1:4222']);
    assert.deepEqual(parseNatsAddress('nats://a:1, nats://b:2'), ['nats://a:1', 'nats://b:2']);
    assert.deepEqual(parseNatsAddress(['tls://a:1', 'nats://u:p@b:2']), ['tls://a:1', 'nats://u:p@b:2']);
  });

  it('refuses what is not a NATS URL with a ConfigError naming the part, never the password', () => {
    for (const [address, part] of [
      ['', /empty/],
      ['nats://a:1,,nats://b:2', /empty entry/],
      ['redis://u:hunter2@a:1', /scheme redis/],
      ['u:hunter2@a', /not a URL|scheme/],
      ['nats://u:hunter2@a:1/db', /path or query/],
      ['nats://u:hunter2@a:1?x=1', /path or query/],
    ] as const) {
      assert.throws(
        () => parseNatsAddress(address),
        (error: Error) =>
          error instanceof ConfigError && part.test(error.message) && !error.message.includes('hunter2'),
        address,
      );
    }
  });

  it('redacts passwords', () => {
    assert.equal(redactNatsAddress('nats://user:s3cr%40t@h:4222'), 'nats://user:***@h:4222');
    assert.equal(redactNatsAddress(['nats://h:1', 'nats://u:p@h:2']), 'nats://h:1,nats://u:***@h:2');
    assert.equal(redactNatsAddress('nats://u:p@s/s@h:2'), 'nats://u:***@h:2', 'a raw @ or / in the password');
    assert.equal(redactNatsAddress('u:hunter2@h'), 'u:***@h', 'no scheme');
  });

  it('a subject is one subject: dot-separated tokens, no wildcard, no whitespace, no empty token', () => {
    for (const ok of ['enduro.ingest.events', 'a', 'a-b_c.d$e']) assert.equal(checkSubject(ok), ok);
    for (const bad of ['', 'a.*', 'a.>', '>', 'a..b', '.a', 'a.', 'a b', 'a\tb', 'a\r\nPUB x 1', 42]) {
      assert.throws(() => checkSubject(bad), ConfigError, String(bad));
    }
  });
});
