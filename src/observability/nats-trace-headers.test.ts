/**
 * Trace context in NATS headers survives a trip through a real nats-server,
 * and what arrives malformed is dropped and named, never passed on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { type NatsServer, startNatsServer } from '../../test/support/nats-server.js';
import { traceFromHeaders, traceHeaders } from './nats-trace-headers.js';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context in NATS headers', { timeout: 30_000 }, () => {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;

  before(async () => {
    server = await startNatsServer({ jetstream: false });
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc?.close();
    await server?.close();
  });

  /** Publishes with `sent` and returns the headers the subscriber got. */
  async function roundTrip(sent: MsgHdrs | undefined): Promise<MsgHdrs | undefined> {
    assert.ok(nc);
    const subject = `trace.${Math.random().toString(36).slice(2)}`;
    const sub = nc.subscribe(subject, { max: 1 });
    await nc.flush();
    nc.publish(subject, '{}', sent ? { headers: sent } : undefined);
    for await (const msg of sub) return msg.headers;
    throw new Error('no message');
  }

  test('traceparent and tracestate arrive as sent', async () => {
    const got = await roundTrip(traceHeaders({ traceparent: PARENT, tracestate: 'vendor=a,other=b' }));
    assert.deepEqual(traceFromHeaders(got), { trace: { traceparent: PARENT, tracestate: 'vendor=a,other=b' } });
  });

  test('no trace means no headers at all', async () => {
    assert.equal(traceHeaders(undefined), undefined);
    assert.equal(traceHeaders({}), undefined);
    assert.deepEqual(traceFromHeaders(await roundTrip(undefined)), {});
  });

  test('header names match in any case, and several tracestate headers form one list', async () => {
    const sent = headers();
    sent.set('TraceParent', PARENT);
    sent.append('TRACESTATE', 'a=1');
    sent.append('TRACESTATE', 'b=2');
    assert.deepEqual(traceFromHeaders(await roundTrip(sent)), {
      trace: { traceparent: PARENT, tracestate: 'a=1,b=2' },
    });
  });

  test('a malformed or repeated traceparent is dropped with its tracestate, and named', async () => {
    const bad = headers();
    bad.set('traceparent', '00-zz-yy-01');
    bad.set('tracestate', 'a=1');
    assert.deepEqual(traceFromHeaders(await roundTrip(bad)), { dropped: 'traceparent' });

    const twice = headers();
    twice.append('traceparent', PARENT);
    twice.append('traceparent', PARENT);
    assert.deepEqual(traceFromHeaders(await roundTrip(twice)), { dropped: 'traceparent' });
  });

  test('a malformed tracestate is dropped, the traceparent kept', async () => {
    const sent = headers();
    sent.set('traceparent', PARENT);
    sent.set('tracestate', 'NOT VALID');
    assert.deepEqual(traceFromHeaders(await roundTrip(sent)), {
      trace: { traceparent: PARENT },
      dropped: 'tracestate',
    });
  });
});
