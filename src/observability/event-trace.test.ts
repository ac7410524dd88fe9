import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rememberTrace, traceContextOf } from './event-trace.js';

const carrier = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

describe('trace context of received events', () => {
  // One process per test file: nothing has asked for trace contexts before this test.
  it('keeps them only once something asked, then for every event that had one', () => {
    const early = { type: 'before anyone asked' };
    rememberTrace(early, carrier);
    assert.equal(traceContextOf(early), undefined, 'not kept before the first ask');

    const traced = { type: 'traced' };
    const untraced = { type: 'untraced' };
    rememberTrace(traced, carrier);
    rememberTrace(untraced, undefined);
    rememberTrace('a primitive', carrier); // cannot be told apart from its copies: ignored
    assert.deepEqual(traceContextOf(traced), carrier);
    assert.equal(traceContextOf(untraced), undefined);
    assert.equal(traceContextOf({ type: 'traced' }), undefined, 'by identity, not by value');
  });
});
