import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { History } from './history.js';

function contents(history: History<number>): number[] {
  const out: number[] = [];
  for (let seq = history.first; seq < history.next; seq++) out.push(history.get(seq));
  return out;
}

describe('in-memory history', () => {
  it('numbers events from 1 and keeps the newest maxEvents, growing its storage as needed', () => {
    const history = new History<number>(100, undefined);
    for (let i = 0; i < 1_000; i++) assert.equal(history.append(i, 0), i + 1);
    assert.equal(history.first, 901);
    assert.equal(history.next, 1_001);
    assert.deepEqual(
      contents(history),
      Array.from({ length: 100 }, (_, i) => 900 + i),
    );
  });

  it('forgets events older than maxAgeMs, on append and on trim', () => {
    const history = new History<number>(10, 1_000);
    history.append(1, 0);
    history.append(2, 500);
    history.append(3, 1_200);
    assert.deepEqual(contents(history), [2, 3]);
    history.trim(10_000);
    assert.deepEqual(contents(history), []);
    assert.equal(history.first, history.next);
  });
});
