import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVALID_SPAN_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { fromCarrier, toCarrier } from './trace-context.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';

describe('W3C trace context on the wire', () => {
  it('writes traceparent (and tracestate) and reads back the same context, marked remote', () => {
    const carrier = toCarrier({ traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    assert.deepEqual(carrier, { traceparent: `00-${traceId}-${spanId}-01` });
    assert.deepEqual(fromCarrier(carrier), { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const unsampled = fromCarrier({ traceparent: `00-${traceId}-${spanId}-00`, tracestate: 'vendor=a' });
    assert.equal(unsampled?.traceFlags, TraceFlags.NONE);
    assert.equal(unsampled?.traceState?.get('vendor'), 'a');
  });

  it('keeps only the sampled bit of the flags', () => {
    assert.equal(fromCarrier({ traceparent: `00-${traceId}-${spanId}-03` })?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(fromCarrier({ traceparent: `00-${traceId}-${spanId}-02` })?.traceFlags, TraceFlags.NONE);
  });

  it('carries nothing for the no-op context of an application without an SDK', () => {
    assert.equal(toCarrier(INVALID_SPAN_CONTEXT), undefined);
  });

  it('ignores a missing or malformed traceparent rather than failing the message', () => {
    for (const traceparent of [
      undefined,
      '',
      `01-${traceId}-${spanId}-01`, // unknown version
      `00-${traceId.toUpperCase()}-${spanId}-01`,
      `00-${traceId}-${spanId}-1`,
      `00-${traceId}0-${spanId}-01`,
      `00-${'0'.repeat(32)}-${spanId}-01`, // all-zero ids are invalid
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId}-${spanId}-01 `,
      `00-${traceId.slice(0, 31)}g-${spanId}-01`,
    ]) {
      assert.equal(fromCarrier(traceparent === undefined ? {} : { traceparent }), undefined, String(traceparent));
    }
    assert.equal(fromCarrier(undefined), undefined);
  });
});
