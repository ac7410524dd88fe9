import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedLogger, capText, type Logger, MAX_LOGGED_CHARS, silentLogger } from './logger.js';

function keeping(): { logger: Logger; calls: [Record<string, unknown>, string][] } {
  const calls: [Record<string, unknown>, string][] = [];
  const keep = (fields: Record<string, unknown>, message: string): void => {
    calls.push([fields, message]);
  };
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, calls };
}

describe('boundedLogger', () => {
  it('caps strings at any depth, keeping their length, and bounds arrays and nesting', () => {
    const { logger, calls } = keeping();
    const long = 'y'.repeat(MAX_LOGGED_CHARS + 1);
    const items = Array.from({ length: 25 }, (_, i) => i);
    boundedLogger(logger).warn(
      { short: 'ok', long, n: 3, nested: { deeper: { long } }, items, deep: { a: { b: { c: { d: 1 } } } } },
      long,
    );
    const [fields, message] = calls[0] ?? [{}, ''];
    assert.equal(message, capText(long));
    assert.equal(message, `${'y'.repeat(MAX_LOGGED_CHARS)}…[${MAX_LOGGED_CHARS + 1} chars]`);
    assert.deepEqual(fields, {
      short: 'ok',
      long: capText(long),
      n: 3,
      nested: { deeper: { long: capText(long) } },
      items: [...items.slice(0, 20), '…[25 items]'],
      deep: { a: { b: { c: '[object]' } } },
    });
  });

  it('reduces errors to their name, code and capped message (never the fields a library attached)', () => {
    const { logger, calls } = keeping();
    const error = Object.assign(new Error('WRONGPASS invalid password'), {
      code: 'EAUTH',
      command: { name: 'auth', args: ['user', 'hunter2'] },
    });
    boundedLogger(logger).error({ err: error }, 'failed');
    assert.deepEqual(calls[0]?.[0], { err: { type: 'Error', message: 'WRONGPASS invalid password', code: 'EAUTH' } });
  });

  it('wraps once, and leaves the silent logger as it is', () => {
    const { logger } = keeping();
    const once = boundedLogger(logger);
    assert.equal(boundedLogger(once), once);
    assert.equal(boundedLogger(silentLogger), silentLogger);
  });
});
