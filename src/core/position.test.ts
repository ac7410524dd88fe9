import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PositionError } from '../errors.js';
import { PositionFormat, positionTag } from './position.js';

describe('positions', () => {
  const streamId = /^\d{1,20}-\d{1,20}$/;
  const ingest = new PositionFormat(positionTag('rs', 'enduro-ingest-events'), streamId);

  it('round-trips the native cursor, and is the same in every process for one channel', () => {
    const position = ingest.format('1700000000000-3');
    assert.equal(ingest.parse(position), '1700000000000-3');
    assert.equal(
      new PositionFormat(positionTag('rs', 'enduro-ingest-events'), streamId).format('1-0'),
      ingest.format('1-0'),
    );
    assert.doesNotMatch(position, /enduro/, 'a position never shows the channel name');
  });

  function problemOf(position: unknown): string {
    try {
      ingest.parse(position);
    } catch (error) {
      assert.ok(error instanceof PositionError);
      return error.problem;
    }
    return 'accepted';
  }

  it('tells another channel or backend (foreign) from garbage (malformed)', () => {
    const storage = new PositionFormat(positionTag('rs', 'enduro-storage-events'), streamId);
    assert.equal(problemOf(storage.format('1-0')), 'foreign');
    assert.equal(
      problemOf(new PositionFormat(positionTag('js', 'enduro-ingest-events'), /^\d+$/).format(5)),
      'foreign',
    );
    for (const garbage of [
      '',
      '1-0',
      'oldest',
      ':',
      'rs.x:',
      `${ingest.format('1-0')}:2`,
      ingest.format('1-x'),
      'x'.repeat(300),
      7,
    ]) {
      assert.equal(problemOf(garbage), 'malformed', JSON.stringify(garbage));
    }
  });

  it('never echoes more than 40 characters of a bad position', () => {
    assert.throws(
      () => ingest.parse(`${'y'.repeat(150)}`),
      (error: Error) => error.message.length < 80,
    );
  });
});
