import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInMemoryEventService } from '../backends/memory/memory-event-service.js';
import { runConformanceSuite } from '../conformance/index.js';
import { PositionError } from '../errors.js';
import { withReplayWindow } from './replay-window.js';

type Seq = { seq: number };

runConformanceSuite<Seq>({
  name: 'replay window over in-memory without history',
  features: { crossInstance: false },
  connect: async () => withReplayWindow(createInMemoryEventService<Seq>({ history: false })),
  connectRetaining: async (_topic, maxEvents) =>
    withReplayWindow(createInMemoryEventService<Seq>({ history: false }), { maxEvents }),
  event: (seq) => ({ seq }),
  indexOf: (event) => event.seq,
});

async function take(sub: AsyncIterator<Seq>, n: number): Promise<number[]> {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = await sub.next();
    assert.equal(result.done, false);
    got.push((result.value as Seq).seq);
  }
  return got;
}

describe('withReplayWindow', () => {
  it('returns a service that already replays unchanged', async () => {
    const service = createInMemoryEventService<Seq>();
    assert.equal(withReplayWindow(service), service);
    await service.close();
  });

  it('refuses bad bounds with a TypeError', () => {
    const service = createInMemoryEventService<Seq>({ history: false });
    assert.throws(() => withReplayWindow(service, { maxEvents: 0 }), TypeError);
    assert.throws(() => withReplayWindow(service, { maxAgeMs: Number.NaN }), TypeError);
  });

  it("another window's position (another gateway, a restart) is foreign", async () => {
    const inner = createInMemoryEventService<Seq>({ history: false });
    const a = withReplayWindow(inner, { closeService: false });
    const b = withReplayWindow(inner, { closeService: false });
    const sub = await a.subscribe();
    await b.subscribe();
    inner.publish({ seq: 1 });
    await take(sub, 1);
    await assert.rejects(b.subscribe({ from: sub.position as string }), (error: unknown) => {
      assert.ok(error instanceof PositionError);
      assert.equal(error.problem, 'foreign');
      return true;
    });
    await a.close();
    await b.close();
    assert.equal(inner.closed, false, 'closeService: false leaves the wrapped service open');
    await inner.close();
  });

  it('an upstream loss reaches a replaying subscription as a gap at its place, and a live one at once', async () => {
    const inner = createInMemoryEventService<Seq>({ history: false });
    const window = withReplayWindow(inner, { maxEvents: 40_000 });
    const live = await window.subscribe({ bufferSize: 40_000 });
    inner.publish({ seq: 0 });
    await take(live, 1);
    const before = live.position as string;
    // Published in one turn: more than the window's own upstream buffer holds, so the upstream drops the newest.
    const burst = 20_000;
    for (let i = 1; i <= burst; i++) inner.publish({ seq: i });
    // The window's reader was waiting: it takes the first at once, then its buffer holds 16,384.
    const taken = 16_385;
    const kept = await take(live, taken);
    assert.deepEqual(
      kept,
      Array.from({ length: taken }, (_, i) => i + 1),
    );
    inner.publish({ seq: burst + 1 });
    const after = await live.next();
    assert.equal((after.value as Seq).seq, burst + 1, 'the next event after the loss');
    assert.equal(live.takeGap()?.reason, 'overflow', 'the live subscription is told');

    const resumed = await window.subscribe({ from: before, bufferSize: 100 });
    assert.deepEqual(await take(resumed, taken - 1), kept.slice(0, -1), 'replayed up to the loss');
    assert.equal(resumed.takeGap(), undefined, 'no gap before the place of the loss');
    assert.deepEqual(await take(resumed, 1), [taken]);
    const gap = resumed.takeGap();
    assert.equal(gap?.reason, 'overflow', 'the replaying subscription meets the loss at its place');
    assert.equal(gap.dropped, burst - taken);
    assert.deepEqual(await take(resumed, 1), [burst + 1]);
    assert.equal(resumed.replaying, false);
    await window.close();
    assert.equal(inner.closed, true, 'closing the window closes the wrapped service by default');
  });
});
