import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVALID_SPAN_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { checkTraceContext, fromCarrier, isValidTraceparent, isValidTracestate, toCarrier } from './trace-context.js';

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

  it('passes only a version 00 traceparent, lowercase, with non-zero ids', () => {
    assert.ok(isValidTraceparent(`00-${traceId}-${spanId}-01`));
    for (const bad of [
      `ff-${traceId}-${spanId}-01`, // version ff is invalid
      `01-${traceId}-${spanId}-01`,
      `00-${traceId}-${spanId}-01-extra`,
      `00-${traceId.toUpperCase()}-${spanId}-01`,
      `00-${'0'.repeat(32)}-${spanId}-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId}-${spanId}-0`,
      42,
      null,
    ]) {
      assert.equal(isValidTraceparent(bad), false, String(bad));
    }
  });

  it('passes a tracestate within the W3C limits, and nothing beyond them', () => {
    const members = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
    for (const good of [
      'vendor=a',
      'a=1,b=2',
      ' a=1 ,\t, b=2\t', // whitespace and empty members are allowed
      'tenant@system=x',
      'a*/_-9=value with spaces!',
      members(32),
      `k=${'v'.repeat(256)}`,
      `${'k'.repeat(256)}=v`,
    ]) {
      assert.ok(isValidTracestate(good), good);
    }
    for (const bad of [
      members(33), // more than 32 members
      'Vendor=a', // keys are lowercase
      '1abc=a', // a simple key starts with a letter
      'a=b=c', // "=" in a value
      'a=', // an empty value
      'a=1,a=2', // a key twice
      'novalue',
      'a=\u00e9', // outside printable ASCII
      `k=${'v'.repeat(257)}`,
      `${'k'.repeat(257)}=v`,
      'tenant@System=x',
      17,
    ]) {
      assert.equal(isValidTracestate(bad), false, String(bad));
    }
    const longest = `${'a'.repeat(250)}=${'v'.repeat(255)},b=vvv`;
    assert.equal(longest.length, 512);
    assert.ok(isValidTracestate(longest), '512 characters');
    assert.equal(isValidTracestate(`${longest}v`), false, '513 characters');
  });

  it('keeps what is well-formed and names the field it dropped', () => {
    const traceparent = `00-${traceId}-${spanId}-01`;
    assert.deepEqual(checkTraceContext(undefined), {});
    assert.deepEqual(checkTraceContext({ traceparent }), { trace: { traceparent } });
    assert.deepEqual(checkTraceContext({ traceparent, tracestate: '' }), { trace: { traceparent } });
    assert.deepEqual(checkTraceContext({ traceparent, tracestate: 'a=1' }), {
      trace: { traceparent, tracestate: 'a=1' },
    });
    assert.deepEqual(checkTraceContext({ traceparent, tracestate: 'A=1' }), {
      trace: { traceparent },
      dropped: 'tracestate',
    });
    assert.deepEqual(checkTraceContext({ traceparent: 'x', tracestate: 'a=1' }), { dropped: 'traceparent' });
    assert.deepEqual(checkTraceContext({ tracestate: 'a=1' }), { dropped: 'tracestate' });
  });
});
