import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../errors.js';
import { parseRedisAddress, redact } from './redis-address.js';

describe('parseRedisAddress', () => {
  it('reads host, port and db', () => {
    assert.deepEqual(parseRedisAddress('redis://cache.internal:6380/3'), { host: 'cache.internal', port: 6380, db: 3 });
  });

  it('defaults port 6379 and db 0', () => {
    assert.deepEqual(parseRedisAddress('redis://localhost'), { host: 'localhost', port: 6379, db: 0 });
    assert.deepEqual(parseRedisAddress('redis://localhost/'), { host: 'localhost', port: 6379, db: 0 });
  });

  it('reads user and password, percent-decoded', () => {
    const options = parseRedisAddress('redis://enduro:p%40ss%2Fw0rd@127.0.0.1:6379/0');
    assert.equal(options.username, 'enduro');
    assert.equal(options.password, 'p@ss/w0rd');
  });

  it('reads a password without a user', () => {
    const options = parseRedisAddress('redis://:secret@127.0.0.1');
    assert.equal(options.username, undefined);
    assert.equal(options.password, 'secret');
  });

  it('turns on TLS for rediss://', () => {
    assert.deepEqual(parseRedisAddress('rediss://redis.example.org:6390').tls, { servername: 'redis.example.org' });
  });

  it('accepts IPv6 hosts', () => {
    assert.equal(parseRedisAddress('redis://[::1]:6379').host, '::1');
  });

  const bad: [string, RegExp][] = [
    ['', /required/],
    ['127.0.0.1:6379', /scheme|not a valid URL/],
    ['http://127.0.0.1:6379', /scheme "http:"/],
    ['redis://127.0.0.1:6379/zero', /database "zero"/],
    ['redis://127.0.0.1:6379/1/2', /database "1\/2"/],
    ['redis://127.0.0.1:99999', /not a valid URL|port/],
    ['redis://', /no host|not a valid URL/],
  ];
  for (const [address, message] of bad) {
    it(`rejects ${JSON.stringify(address)} naming the bad part`, () => {
      assert.throws(
        () => parseRedisAddress(address),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  it('never puts the password in its errors', () => {
    assert.throws(
      () => parseRedisAddress('redis://user:hunter2@host:port'),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
    );
  });

  it('redacts passwords for logs', () => {
    assert.equal(redact('redis://user:hunter2@host:6379/0'), 'redis://user:***@host:6379/0');
    assert.equal(redact('redis://host:6379'), 'redis://host:6379');
    assert.equal(redact('redis://user:SEC/RET@host'), 'redis://user:***@host', 'a "/" in the password');
    assert.equal(redact('redis://user:a@b #c d@host/0'), 'redis://user:***@host/0', '"@", "#" and spaces');
  });

  it('tells how to write a password the URL syntax cuts apart, without showing it', () => {
    for (const address of ['redis://user:SEC/RET@host', 'redis://user:123/RET@host', 'redis://user:12#RET@host']) {
      assert.throws(
        () => parseRedisAddress(address),
        (error: unknown) =>
          error instanceof ConfigError && /percent-encode/.test(error.message) && !error.message.includes('RET'),
        address,
      );
    }
    assert.throws(() => parseRedisAddress('redis://user:50%off@host'), /password is not valid percent-encoding/);
  });
});
