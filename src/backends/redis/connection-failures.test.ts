import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { freePort, type RedisServer, startRedisServer } from '../../../test/support/redis-server.js';
import { type SeqEvent, seqCodec } from '../../../test/support/seq-codec.js';
import { freshTopic, waitFor } from '../../conformance/harness.js';
import type { Logger } from '../../core/logger.js';
import { ConfigError, ConnectionError, PublishError } from '../../errors.js';
import { parseRedisAddress } from './redis-address.js';
import { createRedisEventService, type RedisEventService } from './redis-event-service.js';

/** Everything an error says, through its `cause` chain: message, stack and own fields (Node's URL error keeps its input). */
function textsOf(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 5) return [String(error)];
  const own = Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'cause'));
  return [error.message, error.stack ?? '', JSON.stringify(own), ...textsOf(error.cause, depth + 1)];
}

/** A logger that keeps every line it is given, at every level, as text. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      const expanded = JSON.stringify(fields, (_key, value: unknown) =>
        value instanceof Error ? textsOf(value) : value,
      );
      lines.push(`${level} ${message} ${expanded}`);
    };
  return { logger: { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') }, lines };
}

const opened: RedisEventService<SeqEvent>[] = [];
function service(redisAddress: string, logger?: Logger, timeoutMs = 2_000): RedisEventService<SeqEvent> {
  const created = createRedisEventService({
    redisAddress,
    redisChannel: freshTopic(),
    codec: seqCodec,
    logger,
    subscribeTimeoutMs: timeoutMs,
    publishTimeoutMs: timeoutMs,
  });
  opened.push(created);
  return created;
}

/** A server that wants a password, and a port nobody listens on. */
let locked: RedisServer;
let refusedPort: number;
before(async () => {
  locked = await startRedisServer(['--requirepass', 'the-right-password']);
  refusedPort = await freePort();
});
after(async () => {
  await Promise.all(opened.map((svc) => svc.close()));
  await locked.stop();
});

describe('connection failures', () => {
  const lockedUrl = (password: string): string => {
    const url = new URL(locked.url);
    url.password = encodeURIComponent(password);
    return url.toString();
  };

  /** subscribe() and publishConfirmed() both fail, each with `cause` in its message (not only as `cause`). */
  async function assertBothSay(address: string, cause: RegExp): Promise<void> {
    const svc = service(address);
    await assert.rejects(svc.subscribe(), (error: unknown) => {
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, cause);
      return true;
    });
    await assert.rejects(svc.publishConfirmed({ seq: 1 }), (error: unknown) => {
      assert.ok(error instanceof PublishError, String(error));
      assert.match(error.message, cause);
      return true;
    });
  }

  it('names a refused connection', async () => {
    await assertBothSay(`redis://127.0.0.1:${refusedPort}`, /: connection refused: .*\(connect ECONNREFUSED [^)]*\)$/);
  });

  it('names a host that does not exist', async () => {
    await assertBothSay(
      'redis://nonexistent.invalid:6379',
      /: host not found \(getaddrinfo \w+ nonexistent\.invalid\)$/,
    );
  });

  it('names a wrong password, and a missing one', async () => {
    await assertBothSay(lockedUrl('not-the-password'), /: authentication failed: .*\(WRONGPASS [^)]*\)$/);
    await assertBothSay(locked.url, /: authentication failed: .*\(NOAUTH [^)]*\)$/);
  });
});

describe('passwords never reach an error or a log line (fuzzed)', () => {
  // Letters no message of Redis, ioredis or Node puts three in a row, so a run of them in a text is the password.
  const secretLetters = 'QXZJKWV';
  const secretRun = new RegExp(`[${secretLetters}]{3,}`, 'g');
  const password = fc
    .array(
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...secretLetters), minLength: 3, maxLength: 6 }),
        fc.constantFrom('/', '@', ':', '%', '#', ' ', '?', '%2F', '%zz', '//', '@@'),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((parts) => parts.join(''))
    .filter((text) => secretRun.test(text));

  /** Fails naming the text and the part of the password it shows. */
  function assertNoSecret(texts: readonly string[], secret: string): void {
    const runs = secret.match(secretRun) ?? [];
    for (const text of texts) {
      for (const run of runs)
        assert.ok(!text.includes(run), `password part ${run} of ${JSON.stringify(secret)} in: ${text}`);
    }
  }

  /** The ways a person writes a password into a Redis URL: as is or percent-encoded, with or without a user name. */
  const addressForms = (secret: string, hostPort: string): string[] => [
    `redis://tidings:${secret}@${hostPort}`,
    `redis://tidings:${secret}@${hostPort}/0`,
    `redis://:${secret}@${hostPort}`,
    `rediss://tidings:${secret}@${hostPort}/1`,
    `tidings:${secret}@${hostPort}`,
    `redis://tidings:${encodeURIComponent(secret)}@${hostPort}/0`,
  ];

  it('in construction: a ConfigError or a service, never the password', async () => {
    await fc.assert(
      fc.asyncProperty(password, async (secret) => {
        for (const address of addressForms(secret, `127.0.0.1:${refusedPort}`)) {
          const { logger, lines } = capturingLogger();
          let svc: RedisEventService<SeqEvent> | undefined;
          try {
            svc = createRedisEventService({
              redisAddress: address,
              redisChannel: freshTopic(),
              codec: seqCodec,
              logger,
            });
          } catch (error) {
            assert.ok(error instanceof ConfigError, `${address}: ${String(error)}`);
            assertNoSecret(textsOf(error), secret);
          }
          await svc?.close();
          assertNoSecret(lines, secret);
        }
        const encoded = `redis://tidings:${encodeURIComponent(secret)}@127.0.0.1:6379/0`;
        assert.equal(parseRedisAddress(encoded).password, secret, 'a percent-encoded password is read back exactly');
      }),
      { numRuns: 300 },
    );
  });

  it('in connection, subscribe and publish failures', async () => {
    const targets = [`127.0.0.1:${refusedPort}`, `127.0.0.1:${locked.port}`];
    await fc.assert(
      fc.asyncProperty(password, fc.constantFrom(...targets), async (secret, target) => {
        const { logger, lines } = capturingLogger();
        // As written when the URL syntax allows it, percent-encoded otherwise.
        const raw = `redis://tidings:${secret}@${target}/0`;
        let address = `redis://tidings:${encodeURIComponent(secret)}@${target}/0`;
        try {
          parseRedisAddress(raw);
          address = raw;
        } catch {}
        const svc = service(address, logger, 300);
        const errors: unknown[] = [];
        await svc.subscribe().catch((error: unknown) => errors.push(error));
        await svc.publishConfirmed({ seq: 1 }).catch((error: unknown) => errors.push(error));
        svc.publish({ seq: 2 }); // fire and forget: its failure goes to the log
        await waitFor('the failed publish counted', () => svc.stats.publishFailed === 2);
        await svc.close();
        assert.equal(errors.length, 2, 'neither subscribe nor publish succeeded');
        assert.ok(lines.length > 0, 'the failures were logged');
        assertNoSecret([...errors.flatMap((error) => textsOf(error)), ...lines], secret);
      }),
      { numRuns: 12 },
    );
  });
});
