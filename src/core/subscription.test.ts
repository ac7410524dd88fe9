import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlowConsumerError } from '../errors.js';
import type { SubscribeOptions } from './contract.js';
import { LocalSubscription, resolveSubscribeOptions } from './subscription.js';

/** A subscription on its own, with the hooks a backend would see recorded. */
function open(options?: SubscribeOptions) {
  const released: LocalSubscription<number>[] = [];
  const dropped: string[] = [];
  const sub = new LocalSubscription<number>(options, {
    released: (s) => released.push(s),
    dropped: (reason) => dropped.push(reason),
  });
  return { sub, released, dropped };
}

async function read(sub: LocalSubscription<number>, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const result = await sub.next();
    assert.equal(result.done, false, `event ${i} of ${count}`);
    out.push(result.value as number);
  }
  return out;
}

describe('subscribe options', () => {
  it('defaults to 256 events and drop-newest, with no signal', () => {
    assert.deepEqual(resolveSubscribeOptions(undefined), {
      bufferSize: 256,
      overflow: 'drop-newest',
      signal: undefined,
    });
  });

  it('names the accepted policies and the bad value in the TypeError', () => {
    assert.throws(() => resolveSubscribeOptions({ overflow: 'block' } as unknown as SubscribeOptions), {
      name: 'TypeError',
      message: 'options.overflow must be one of drop-newest, drop-oldest, evict, got block',
    });
    assert.throws(() => resolveSubscribeOptions({ bufferSize: 2.5 }), {
      name: 'TypeError',
      message: 'options.bufferSize must be a positive integer, got 2.5',
    });
  });

  it('rejects a signal that is not an AbortSignal', () => {
    const fake = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    assert.throws(() => resolveSubscribeOptions({ signal: fake }), {
      name: 'TypeError',
      message: 'options.signal must be an AbortSignal',
    });
  });
});

describe('reconnect gaps', () => {
  it('become visible after the events buffered before the loss, carrying no count', async () => {
    const { sub } = open();
    sub.deliver(1);
    sub.deliver(2);
    sub.reportGap('reconnect');
    sub.deliver(3);
    assert.equal(sub.takeGap(), undefined, 'two events were delivered before the loss');
    assert.deepEqual(await read(sub, 1), [1]);
    assert.equal(sub.takeGap(), undefined, 'one event still precedes the loss');
    assert.deepEqual(await read(sub, 1), [2]);
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
    assert.equal(sub.takeGap(), undefined);
    assert.deepEqual(await read(sub, 1), [3]);
  });

  it('merge with a later overflow: the first reason, the overflow count, the earlier position', async () => {
    const { sub } = open({ bufferSize: 2 });
    sub.deliver(1);
    sub.reportGap('reconnect');
    sub.deliver(2);
    sub.deliver(3); // dropped: the buffer holds 1 and 2
    assert.deepEqual(await read(sub, 1), [1]);
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 1 });
    assert.deepEqual(await read(sub, 1), [2]);
    assert.equal(sub.takeGap(), undefined, 'both losses were reported at once');
  });

  it('move earlier when a drop-oldest overflow loses events at the head', () => {
    const { sub } = open({ bufferSize: 2, overflow: 'drop-oldest' });
    sub.deliver(1);
    sub.deliver(2);
    sub.reportGap('reconnect');
    sub.deliver(3);
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 1 });
  });

  it('stay visible until taken, however many events are read after them', async () => {
    const { sub } = open({ bufferSize: 1, overflow: 'drop-oldest' });
    sub.deliver(1);
    sub.deliver(2); // 1 is lost: the gap is at the head
    sub.deliver(3); // 2 is lost too
    assert.deepEqual(await read(sub, 1), [3]);
    sub.deliver(4);
    assert.deepEqual(await read(sub, 1), [4]);
    assert.deepEqual(sub.takeGap(), { reason: 'overflow', dropped: 2 });
  });

  it('keep the first reason and stay visible when a later overflow merges into them', () => {
    const { sub } = open({ bufferSize: 1 });
    sub.reportGap('reconnect'); // nothing buffered: visible at once
    sub.deliver(1);
    sub.deliver(2); // dropped, after the buffered event
    assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 1 });
  });

  it('are not recorded once closed', async () => {
    const { sub } = open();
    await sub.close();
    sub.reportGap('reconnect');
    assert.equal(sub.takeGap(), undefined);
  });
});

describe('delivery', () => {
  it('hands events to concurrent next() callers in the order they asked', async () => {
    const { sub } = open();
    const pending = [sub.next(), sub.next(), sub.next()];
    assert.equal(sub.deliver(1), true);
    assert.equal(sub.deliver(2), true);
    assert.equal(sub.deliver(3), true);
    assert.deepEqual(
      (await Promise.all(pending)).map((result) => result.value),
      [1, 2, 3],
    );
    assert.equal(sub.delivered, 3);
    assert.equal(sub.pending, 0);
  });

  it('close() resolves every concurrent next() as done', async () => {
    const { sub, released } = open();
    const pending = [sub.next(), sub.next()];
    await sub.close();
    for (const result of await Promise.all(pending)) assert.equal(result.done, true);
    assert.equal(sub.deliver(1), false, 'a closed subscription takes nothing');
    assert.equal(released.length, 1);
  });

  it('works with a backend that does not count drops', () => {
    for (const overflow of ['drop-newest', 'drop-oldest', 'evict'] as const) {
      const sub = new LocalSubscription<number>({ bufferSize: 1, overflow }, { released: () => {} });
      sub.deliver(1);
      assert.doesNotThrow(() => sub.deliver(2), overflow);
      assert.equal(sub.dropped, 1, overflow);
    }
  });

  it('reports each drop to the backend with its reason', () => {
    const newest = open({ bufferSize: 1 });
    newest.sub.deliver(1);
    assert.equal(newest.sub.deliver(2), false);
    assert.deepEqual(newest.dropped, ['overflow']);

    const oldest = open({ bufferSize: 1, overflow: 'drop-oldest' });
    oldest.sub.deliver(1);
    assert.equal(oldest.sub.deliver(2), true, 'the arriving event is kept');
    assert.deepEqual(oldest.dropped, ['overflow']);

    const evicted = open({ bufferSize: 1, overflow: 'evict' });
    evicted.sub.deliver(1);
    assert.equal(evicted.sub.deliver(2), false);
    assert.deepEqual(evicted.dropped, ['eviction']);
    assert.equal(evicted.released.length, 1, 'eviction releases at once');
  });
});

describe('eviction', () => {
  it('closing an evicted subscription discards what it held and the error, releasing once', async () => {
    const { sub, released } = open({ bufferSize: 1, overflow: 'evict' });
    sub.deliver(1);
    sub.deliver(2);
    assert.equal(sub.closed, true);
    await sub.close();
    assert.equal(sub.pending, 0);
    assert.equal((await sub.next()).done, true, 'no SlowConsumerError after close()');
    assert.equal(released.length, 1);
  });

  it('close() after the buffer was read and before the error was thrown ends iteration without the error', async () => {
    const { sub } = open({ bufferSize: 1, overflow: 'evict' });
    sub.deliver(1);
    sub.deliver(2);
    assert.deepEqual(await read(sub, 1), [1]);
    await sub.close();
    assert.equal((await sub.next()).done, true);
  });

  it('throws SlowConsumerError once, after the buffer and its overflow gap, then stays done', async () => {
    const { sub } = open({ bufferSize: 1, overflow: 'evict' });
    sub.deliver(1);
    sub.deliver(2);
    assert.deepEqual(await read(sub, 1), [1]);
    assert.deepEqual(sub.takeGap(), { reason: 'overflow', dropped: 1 });
    await assert.rejects(sub.next(), SlowConsumerError);
    assert.equal((await sub.next()).done, true);
    assert.equal(sub.bufferSize, 1);
  });
});

describe('positions and replay', () => {
  it('position follows the event yielded, through the buffer and through a waiting reader', async () => {
    const { sub } = open({ bufferSize: 4 });
    sub.startAt('p0');
    assert.equal(sub.position, 'p0');
    sub.deliver(1, 'p1');
    sub.deliver(2, 'p2');
    assert.equal(sub.position, 'p0', 'nothing read yet');
    await read(sub, 1);
    assert.equal(sub.position, 'p1');
    await read(sub, 1);
    assert.equal(sub.position, 'p2');
    const waiting = sub.next();
    sub.deliver(3, 'p3');
    assert.equal((await waiting).value, 3);
    assert.equal(sub.position, 'p3');
  });

  it('drop-oldest drops the position with its event; drop-newest keeps the last taken', async () => {
    const oldest = open({ bufferSize: 2, overflow: 'drop-oldest' }).sub;
    oldest.startAt(undefined);
    for (const i of [1, 2, 3]) oldest.deliver(i, `p${i}`);
    assert.deepEqual(await read(oldest, 1), [2]);
    assert.equal(oldest.position, 'p2');
    const newest = open({ bufferSize: 2 }).sub;
    newest.startAt(undefined);
    for (const i of [1, 2, 3]) newest.deliver(i, `p${i}`);
    assert.deepEqual(await read(newest, 2), [1, 2]);
    assert.equal(newest.position, 'p2');
  });

  it('while replaying, live deliveries are refused and refill is asked for when the buffer runs low', async () => {
    const { sub } = open({ bufferSize: 4 });
    sub.startAt('p0');
    let next = 1;
    let refills = 0;
    sub.beginReplay(() => {
      refills++;
      while (sub.free > 0 && next <= 10) sub.deliverRetained(next, `p${next++}`);
      if (next > 10) sub.endReplay();
    });
    assert.equal(sub.replaying, true);
    assert.equal(sub.deliver(99, 'live'), false, 'live events come from history while replaying');
    assert.deepEqual(await read(sub, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(refills >= 3, `refilled ${refills} times`);
    assert.equal(sub.replaying, false);
    assert.equal(sub.deliver(11, 'p11'), true, 'live once caught up');
    assert.deepEqual(await read(sub, 1), [11]);
    assert.equal(sub.position, 'p11');
  });

  it('an expired gap is visible before the first retained event, with its count', async () => {
    const { sub } = open();
    sub.startAt('p0');
    sub.reportGap('expired', 7);
    sub.deliverRetained(8, 'p8');
    assert.deepEqual(sub.takeGap(), { reason: 'expired', dropped: 7 });
    assert.deepEqual(await read(sub, 1), [8]);
    assert.equal(sub.takeGap(), undefined);
  });

  it('closing a replaying subscription stops replay and refills', async () => {
    const { sub, released } = open();
    let refills = 0;
    sub.beginReplay(() => refills++);
    await sub.close();
    assert.equal(sub.replaying, false);
    assert.equal((await sub.next()).done, true);
    assert.equal(refills, 0);
    assert.equal(released.length, 1);
  });

  it('rejects a `from` that is not a string', () => {
    assert.throws(() => resolveSubscribeOptions({ from: 5 } as unknown as SubscribeOptions), {
      name: 'TypeError',
      message: 'options.from must be a position string or "oldest", got number',
    });
  });
});
