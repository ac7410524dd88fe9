import { after, before } from 'node:test';
import type { Redis } from 'ioredis';
import { adminClient } from './redis-kit.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/** A private redis-server and an admin connection to it, for the enclosing `describe`. */
export interface RedisFixture {
  readonly server: RedisServer;
  readonly admin: Redis;
}

/**
 * Starts a `redis-server` (with `args`) before the enclosing suite's tests
 * and stops it after them, whatever happened; read the fields inside tests.
 */
export function useRedisServer(args: string[] = []): RedisFixture {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  before(async () => {
    server = await startRedisServer(args);
    admin = adminClient(server.url);
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  return {
    get server(): RedisServer {
      if (server === undefined) throw new Error('useRedisServer: read the server inside a test');
      return server;
    },
    get admin(): Redis {
      if (admin === undefined) throw new Error('useRedisServer: read the admin connection inside a test');
      return admin;
    },
  };
}

/** Times Redis has run `command` since it started (`cmdstat_<command>:calls` of INFO commandstats). */
export async function commandCalls(admin: Redis, command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
}
