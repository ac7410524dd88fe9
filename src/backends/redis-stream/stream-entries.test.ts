import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEntry, readStreamInfo, type StreamInfo, trimmedAfter } from './stream-entries.js';
import { canonicalId, compareIds } from './stream-ids.js';

describe('stream IDs', () => {
  it('compare as two unsigned 64-bit numbers, not as text', () => {
    const ordered = ['0-0', '0-1', '0-10', '9-0', '10-0', '10-2', '1764547200000-0', '18446744073709551615-0'];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        assert.equal(Math.sign(compareIds(ordered[i] as string, ordered[j] as string)), Math.sign(i - j), `${i} ${j}`);
      }
    }
  });

  it('are made canonical, and refused when a part does not fit in 64 bits', () => {
    assert.equal(canonicalId('0001-007'), '1-7');
    assert.equal(canonicalId('18446744073709551615-18446744073709551615'), '18446744073709551615-18446744073709551615');
    assert.equal(canonicalId('18446744073709551616-0'), undefined);
  });
});

describe('stream entries', () => {
  it('an event has `m`, a gap record `gap` and no `m`; anything else is invalid', () => {
    assert.deepEqual(readEntry(['m', '{}']), { kind: 'event', text: '{}' });
    assert.deepEqual(readEntry(['x', '1', 'm', '{}']), { kind: 'event', text: '{}' });
    assert.deepEqual(readEntry(['gap', '{"bridge":"b"}']), { kind: 'gap', record: '{"bridge":"b"}' });
    assert.deepEqual(readEntry(['gap', 'g', 'm', '{}']), { kind: 'event', text: '{}' });
    assert.equal(readEntry([]).kind, 'invalid');
    assert.equal(readEntry(['x', 'y']).kind, 'invalid');
    assert.equal(readEntry(['m']).kind, 'invalid', 'a name without a value');
  });

  const info = (fields: Record<string, unknown>): unknown[] => Object.entries(fields).flat();
  /** The parsed reply of `fields`, which must parse. */
  const parsed = (fields: Record<string, unknown>): StreamInfo => {
    const result = readStreamInfo(info(fields));
    assert.ok(result !== undefined);
    return result;
  };

  it('reads XINFO STREAM, and tells whether entries after an ID were trimmed (Redis 7)', () => {
    const trimmed = parsed({
      length: 10,
      'last-generated-id': '5-9',
      'entries-added': 50,
      'recorded-first-entry-id': '5-0',
    });
    assert.deepEqual(trimmed, { lastGeneratedId: '5-9', firstId: '5-0', entriesAdded: 50, length: 10 });
    assert.equal(trimmedAfter(trimmed, '4-99'), true);
    assert.equal(trimmedAfter(trimmed, '5-0'), false, 'still held: nothing after it is gone');
    const whole = parsed({
      length: 10,
      'last-generated-id': '5-9',
      'entries-added': 10,
      'recorded-first-entry-id': '5-0',
    });
    assert.equal(trimmedAfter(whole, '0-0'), false, 'nothing ever trimmed');
    const emptied = parsed({
      length: 0,
      'last-generated-id': '5-9',
      'entries-added': 10,
      'recorded-first-entry-id': '0-0',
    });
    assert.equal(trimmedAfter(emptied, '5-3'), true);
    assert.equal(trimmedAfter(emptied, '5-9'), false);
    assert.equal(readStreamInfo('not a reply'), undefined);
    assert.equal(readStreamInfo(info({ length: 1 })), undefined);
  });

  it('before Redis 7, falls back to the first entry held', () => {
    const old = parsed({ length: 2, 'last-generated-id': '5-9', 'first-entry': ['5-8', ['m', '{}']] });
    assert.equal(old.entriesAdded, undefined);
    assert.equal(trimmedAfter(old, '5-1'), true);
    assert.equal(trimmedAfter(old, '5-8'), false);
    assert.equal(trimmedAfter(old, '0-0'), false, '"oldest" cannot tell, and does not guess');
  });
});
