import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BoundedQueue } from './bounded-queue.js';

describe('bounded queue', () => {
  it('stays first-in first-out across growth and wrap-around, up to a limit that is not a power of two', () => {
    const queue = new BoundedQueue<number>(100);
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head moves while the storage grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7 && !queue.full; i++) {
        queue.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < 3; i++) assert.equal(queue.shift(), expected.shift());
      assert.equal(queue.size, expected.length);
    }
    while (!queue.full) {
      queue.push(next);
      expected.push(next++);
    }
    assert.equal(queue.size, 100);
    while (expected.length > 0) assert.equal(queue.shift(), expected.shift());
    assert.equal(queue.shift(), undefined);
    assert.equal(queue.size, 0);
  });

  it('is full at exactly its limit', () => {
    const queue = new BoundedQueue<number>(3);
    for (let i = 0; i < 3; i++) {
      assert.equal(queue.full, false);
      queue.push(i);
    }
    assert.equal(queue.full, true);
    queue.shift();
    assert.equal(queue.full, false);
  });

  it('starts afresh after clear()', () => {
    const queue = new BoundedQueue<number>(40);
    for (let i = 0; i < 40; i++) queue.push(i);
    queue.clear();
    assert.equal(queue.size, 0);
    assert.equal(queue.shift(), undefined);
    for (let i = 100; i < 140; i++) queue.push(i);
    assert.equal(queue.shift(), 100);
    assert.equal(queue.size, 39);
  });

  it('lets an event be collected once it was read', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const queue = new BoundedQueue<object>(4);
    let ref: WeakRef<object> | undefined;
    // In a function of its own, so no local of this one keeps the event alive.
    ((): void => {
      const event = {};
      ref = new WeakRef(event);
      queue.push(event);
      queue.push({});
      queue.shift();
    })();
    // WeakRef targets are kept until the end of the current job: let it end first.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(ref?.deref(), undefined, 'the queue still holds a read event');
    assert.equal(queue.size, 1);
  });
});
