import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FanOut } from './fan-out.js';

/** A fan-out with what its observer was told recorded. */
function fanOut() {
  const live: number[] = [];
  const dropped: string[] = [];
  const fan = new FanOut<number>({ liveChanged: (n) => live.push(n), dropped: (reason) => dropped.push(reason) });
  return { fan, live, dropped };
}

describe('fan-out', () => {
  it('tells the observer every change of the live count, once per subscription', async () => {
    const { fan, live } = fanOut();
    const a = fan.open(undefined);
    const b = fan.open(undefined);
    await a.close();
    await a.close();
    await b.close();
    assert.deepEqual(live, [1, 2, 1, 0]);
    assert.equal(fan.size, 0);
  });

  it('works without an observer', async () => {
    const fan = new FanOut<number>();
    const sub = fan.open({ bufferSize: 1 });
    assert.equal(fan.deliver(1), 1);
    assert.equal(fan.deliver(2), 0);
    await sub.close();
    assert.equal(fan.size, 0);
  });

  it('counts the subscribers that took an event, not those that dropped it', () => {
    const { fan, dropped } = fanOut();
    const full = fan.open({ bufferSize: 1 });
    fan.open(undefined);
    assert.equal(fan.deliver(1), 2);
    assert.equal(fan.deliver(2), 1);
    assert.deepEqual(dropped, ['overflow']);
    assert.equal(full.dropped, 1);
  });

  it('reports a reconnect gap to every live subscriber', () => {
    const { fan } = fanOut();
    const subs = [fan.open(undefined), fan.open(undefined)];
    fan.reportGap('reconnect');
    for (const sub of subs) assert.deepEqual(sub.takeGap(), { reason: 'reconnect', dropped: 0 });
  });

  it('ends every subscription and forgets them all', async () => {
    const { fan, live } = fanOut();
    const subs = [fan.open(undefined), fan.open(undefined), fan.open(undefined)];
    const pending = subs.map((sub) => sub.next());
    fan.endAll();
    for (const result of await Promise.all(pending)) assert.equal(result.done, true);
    assert.equal(fan.size, 0);
    assert.equal(live.at(-1), 0);
    assert.equal(fan.deliver(1), 0);
  });

  it('keeps delivering to the others when a subscriber is evicted mid-delivery', () => {
    const { fan } = fanOut();
    const first = fan.open(undefined);
    const evicted = fan.open({ bufferSize: 1, overflow: 'evict' });
    const last = fan.open(undefined);
    fan.deliver(1);
    assert.equal(fan.deliver(2), 2);
    assert.equal(evicted.closed, true);
    assert.deepEqual([first.pending, last.pending], [2, 2]);
    assert.equal(fan.size, 2);
  });
});
