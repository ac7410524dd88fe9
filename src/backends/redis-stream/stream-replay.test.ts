import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalSubscription } from '../../core/subscription.js';
import type { RawEntry, StreamInfo } from './stream-entries.js';
import { type ReplaySource, replayInto } from './stream-replay.js';

/**
 * The seam between replay and live delivery, with a scripted source: the
 * race it covers (a read's reply overtaken by the reader's, on another
 * connection) cannot be produced on demand with a real Redis.
 */
describe('stream replay joins live delivery', () => {
  function scripted(pages: RawEntry[][], live: () => string) {
    const reads: string[] = [];
    let joinedAt: string | undefined;
    const source: ReplaySource<number> = {
      async page(after) {
        reads.push(after);
        return { info: undefined as StreamInfo | undefined, entries: pages.shift() ?? [] };
      },
      decode: (text) => Number(text),
      skip: () => {},
      position: (id) => `p:${id}`,
      liveLast: live,
      joinLive(sub, through) {
        joinedAt = through;
        sub.endReplay();
      },
      delivered: () => {},
      failed: (error) => {
        throw error;
      },
      closed: () => false,
    };
    return { source, reads, joined: () => joinedAt };
  }

  function subscription(): LocalSubscription<number> {
    const sub = new LocalSubscription<number>({ bufferSize: 8 }, { released: () => {} });
    sub.startAt('p:1-0');
    return sub;
  }

  it('an empty read while live delivery already took a newer entry reads again instead of leaving a hole', async () => {
    // The first read finds nothing after 1-0, but by the time its reply is handled the reader has taken 2-0.
    const { source, reads, joined } = scripted([[], [['2-0', ['m', '2']]]], () => '2-0');
    const sub = subscription();
    replayInto(sub, '1-0', false, source);
    assert.deepEqual((await sub.next()).value, 2, 'the entry live delivery took before the join');
    assert.equal(joined(), '2-0');
    assert.deepEqual(reads, ['1-0', '1-0']);
  });

  it('two empty reads against the same live position: those entries are gone, it joins', async () => {
    const { source, reads, joined } = scripted([], () => '5-0');
    const sub = subscription();
    replayInto(sub, '1-0', false, source);
    const deadline = Date.now() + 5_000;
    while (joined() === undefined && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(joined(), '1-0');
    assert.equal(reads.length, 2);
    assert.equal(sub.replaying, false);
  });
});
