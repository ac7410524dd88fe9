// tail only reads: it holds one connection to Redis, the subscriber, and
// opens no publisher. (Needs the Redis service's lazy publisher connection.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { cliTestBed } from '../../test/support/cli-process.js';
import { adminClient } from '../../test/support/redis-kit.js';

describe('tidings tail: Redis connections', () => {
  const bed = cliTestBed();
  let admin: Redis;

  before(() => {
    admin = adminClient(bed.redis.url);
  });

  after(() => {
    admin?.disconnect();
  });

  it('a running tail holds exactly one connection, its subscriber, and still prints what is published', async () => {
    const channel = `cli-connections-${randomUUID()}`;
    const tail = bed.running.spawn(['tail', '--channel', channel, '--json'], {
      env: { TIDINGS_REDIS_URL: bed.redis.url },
    });
    await tail.waitFor('stderr', /tailing/);

    const own = String(await admin.client('ID'));
    const others = String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => line.startsWith('id=') && !line.startsWith(`id=${own} `));
    assert.equal(others.length, 1, others.join('\n'));
    assert.match(others[0] as string, / name=tidings-subscriber /);

    const event = `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${randomUUID()}","status":"ingested"}}}`;
    assert.equal(await admin.publish(channel, event), 1);
    await tail.waitFor('stdout', /\n/);
    assert.equal(tail.stdout, `${event}\n`);
    tail.child.kill('SIGINT');
    const done = await tail.exited;
    assert.equal(done.code, 0, done.stderr);
  });
});
