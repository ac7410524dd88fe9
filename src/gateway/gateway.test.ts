import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { openSse, until } from '../../test/support/sse-client.js';
import { TokenAuthenticator } from '../auth/static-tokens.js';
import { createInMemoryEventService } from '../backends/memory/memory-event-service.js';
import type { EventService, Gap, SubscribeOptions, Subscription } from '../core/contract.js';
import { createGatewayServer, type Gateway, type GatewayTuning } from './gateway.js';

interface Note {
  n: number;
  text?: string;
}

const TOKEN = 'test-token-all';
const INGEST_ONLY = 'test-token-ingest';
const auth = { authorization: `Bearer ${TOKEN}` };
const ping = (message: string): string => JSON.stringify({ value: { type: 'ping', value: { message } } });

async function start(
  tuning: GatewayTuning = {},
  service: EventService<Note> = createInMemoryEventService<Note>(),
): Promise<{ gateway: Gateway; url: string; service: EventService<Note> }> {
  const gateway = createGatewayServer({
    ...tuning,
    authenticator: new TokenAuthenticator([{ token: TOKEN }, { token: INGEST_ONLY, scopes: ['ingest'] }]),
    streams: {
      ingest: { service: service as EventService<object>, toWire: (e) => JSON.stringify({ value: e }), ping },
      storage: { service: createInMemoryEventService<object>(), toWire: (e) => JSON.stringify(e), ping },
    },
  });
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' });
  after(() => gateway.close());
  return { gateway, url, service };
}

describe('monitor gateway over HTTP', () => {
  it('streams SSE: headers, a hello ping first, then one data frame per event', async () => {
    const { url, service } = await start();
    const client = await openSse(`${url}/ingest/monitor`, auth);
    assert.equal(client.status, 200);
    assert.match(String(client.headers['content-type']), /^text\/event-stream/);
    assert.equal(client.headers['cache-control'], 'no-cache, no-transform');
    await client.waitFor((m) => m.length >= 1);
    await until(() => service.liveSubscriptions === 1);
    service.publish({ n: 1 });
    service.publish({ n: 2, text: 'two\nlines' });
    await client.waitFor((m) => m.length >= 3);
    // Each event carries its position as `id:`; the hello ping carries none, and `retry:` comes once.
    const ids = [...client.raw().matchAll(/^id: (.+)$/gm)].map((match) => match[1]);
    assert.equal(ids.length, 2);
    assert.equal(
      client.raw(),
      `retry: 2000\ndata: ${ping('Hello')}\n\nid: ${ids[0]}\ndata: {"value":{"n":1}}\n\n` +
        `id: ${ids[1]}\ndata: {"value":{"n":2,"text":"two\\nlines"}}\n\n`,
    );
    client.close();
  });

  it('pings at the configured interval', async () => {
    const { url } = await start({ pingIntervalMs: 40 });
    const client = await openSse(`${url}/ingest/monitor`, auth);
    await client.waitFor((m) => m.length >= 4);
    const [hello, ...pings] = client.messages;
    assert.equal(hello?.data, ping('Hello'));
    for (const message of pings) assert.equal(message.data, ping('Ping'));
    // Timers never fire early: three pings take at least three intervals (minus clock jitter).
    assert.ok((pings[2]?.at ?? 0) - (hello?.at ?? 0) >= 3 * 40 - 5, 'pings came faster than configured');
    client.close();
  });

  it('answers 401 without or with a bad token, 403 outside the token scope, and accepts access_token', async () => {
    const { url } = await start();
    const none = await openSse(`${url}/ingest/monitor`);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="tidings"');
    assert.match(await none.body, /missing bearer token/);
    const bad = await openSse(`${url}/ingest/monitor`, { authorization: 'Bearer nope' });
    assert.equal(bad.status, 401);
    assert.match(await bad.body, /invalid bearer token/);
    const scoped = await openSse(`${url}/storage/monitor`, { authorization: `Bearer ${INGEST_ONLY}` });
    assert.equal(scoped.status, 403);
    const allowed = await openSse(`${url}/ingest/monitor`, { authorization: `Bearer ${INGEST_ONLY}` });
    assert.equal(allowed.status, 200);
    allowed.close();
    const query = await openSse(`${url}/storage/monitor?access_token=${TOKEN}`);
    assert.equal(query.status, 200);
    query.close();
  });

  it('never logs a token, whether refused with 401, 403 or 429, sent in the header or the query', async () => {
    const lines: string[] = [];
    const capture =
      (level: string) =>
      (fields: Record<string, unknown>, message: string): void => {
        lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
      };
    const logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
    const { url } = await start({ logger, maxStreamsPerToken: 1 });
    const wrong = 'wrong-token-4f1b9c';
    const refusals: [string, Record<string, string>, number][] = [
      [`${url}/ingest/monitor`, { authorization: `Bearer ${wrong}` }, 401],
      [`${url}/ingest/monitor?access_token=${wrong}`, {}, 401],
      [`${url}/storage/monitor`, { authorization: `Bearer ${INGEST_ONLY}` }, 403],
      [`${url}/storage/monitor?access_token=${INGEST_ONLY}`, {}, 403],
    ];
    const held = await openSse(`${url}/ingest/monitor?access_token=${TOKEN}`);
    refusals.push([`${url}/ingest/monitor`, auth, 429], [`${url}/storage/monitor?access_token=${TOKEN}`, {}, 429]);
    for (const [target, headers, status] of refusals) {
      const refused = await openSse(target, headers);
      assert.equal(refused.status, status, target);
      await refused.body;
    }
    held.close();
    // Every refusal was logged, and no line carries a token.
    assert.equal(lines.filter((line) => line.includes('refused')).length, refusals.length);
    for (const token of [wrong, INGEST_ONLY, TOKEN]) {
      assert.deepEqual(
        lines.filter((line) => line.includes(token)),
        [],
      );
    }
  });

  it('limits concurrent streams per token with 429', async () => {
    const { url, service } = await start({ maxStreamsPerToken: 2 });
    const a = await openSse(`${url}/ingest/monitor`, auth);
    const b = await openSse(`${url}/storage/monitor`, auth);
    const c = await openSse(`${url}/ingest/monitor`, auth);
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 429]);
    const other = await openSse(`${url}/ingest/monitor`, { authorization: `Bearer ${INGEST_ONLY}` });
    assert.equal(other.status, 200);
    a.close();
    await until(() => service.liveSubscriptions === 1, 5000, 'released stream');
    const d = await openSse(`${url}/ingest/monitor`, auth);
    assert.equal(d.status, 200);
    for (const client of [b, d, other]) client.close();
  });

  it('answers HEAD on a stream with headers only, holding no subscription and no stream slot', async () => {
    const { url, service, gateway } = await start({ maxStreamsPerToken: 1 });
    for (const scope of ['ingest', 'storage']) {
      // Bounded: a HEAD answered as a stream never completes.
      const head = await fetch(`${url}/${scope}/monitor`, {
        method: 'HEAD',
        headers: auth,
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(head.status, 200);
      assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(await head.text(), '');
    }
    assert.equal((await fetch(`${url}/ingest/monitor`, { method: 'HEAD' })).status, 401);
    assert.equal(service.liveSubscriptions, 0);
    assert.equal(gateway.openStreams, 0);
    // The token's only slot is still free.
    const client = await openSse(`${url}/ingest/monitor`, auth);
    assert.equal(client.status, 200);
    client.close();
  });

  it('encodes each event once, whatever the number of clients', async () => {
    const service = createInMemoryEventService<Note>();
    let encodings = 0;
    const gateway = createGatewayServer({
      authenticator: new TokenAuthenticator([{ token: TOKEN }]),
      streams: {
        ingest: {
          service: service as EventService<object>,
          toWire: (e) => {
            encodings++;
            return JSON.stringify({ value: e });
          },
          ping,
        },
      },
    });
    const url = await gateway.listen({ port: 0, host: '127.0.0.1' });
    after(() => gateway.close());
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => openSse(`${url}/ingest/monitor`, auth)));
    await until(() => service.liveSubscriptions === clients.length);
    for (let n = 0; n < 10; n++) service.publish({ n });
    for (const client of clients) await client.waitFor((m) => m.length >= 11);
    assert.equal(encodings, 10);
    for (const client of clients) client.close();
  });

  it('releases the subscription as soon as a client goes away', async () => {
    const { url, service, gateway } = await start();
    const clients = await Promise.all([1, 2, 3].map(() => openSse(`${url}/ingest/monitor`, auth)));
    await until(() => service.liveSubscriptions === 3);
    assert.equal(gateway.openStreams, 3);
    for (const client of clients) client.close();
    await until(() => service.liveSubscriptions === 0, 5000, 'subscriptions released');
    await until(() => gateway.openStreams === 0, 5000, 'streams closed');
  });

  it('disconnects a client that stops reading, keeping memory bounded', async () => {
    const { url, service, gateway } = await start({ clientBufferSize: 8 });
    const { port } = new URL(url);
    // A client that sends its request and then never reads a byte.
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.pause();
    socket.write(`GET /ingest/monitor HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    const closed = once(socket, 'close');
    await until(() => service.liveSubscriptions === 1);
    const big = 'x'.repeat(64 * 1024);
    // Fill the kernel's socket buffers, then the gateway's backlog; bounded in count.
    for (let n = 0; n < 4000 && service.liveSubscriptions > 0; n++) {
      service.publish({ n, text: big });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(service.liveSubscriptions, 0, 'the slow client was not disconnected');
    assert.equal(gateway.openStreams, 0);
    socket.resume();
    await closed;
  });

  it('disconnects a client that stops reading once the bytes held for it pass clientBacklogBytes', async () => {
    // Far below the frame count: only the byte bound can shed this client.
    const { url, service, gateway } = await start({ clientBufferSize: 100_000, clientBacklogBytes: 1024 * 1024 });
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.pause();
    await once(socket, 'connect');
    socket.write(`GET /ingest/monitor HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    const closed = once(socket, 'close');
    await until(() => service.liveSubscriptions === 1);
    const big = 'x'.repeat(64 * 1024);
    let published = 0;
    // The kernel's socket buffers take a few MB first; then 1 MB more, 16 events, is the limit.
    for (; published < 1000 && service.liveSubscriptions > 0; published++) {
      service.publish({ n: published, text: big });
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(service.liveSubscriptions, 0, `not disconnected after ${published} events of 64 KB`);
    assert.equal(gateway.openStreams, 0);
    socket.resume();
    await closed;
  });

  it('sends a gap event when the subscription reports lost events', async () => {
    const inner = createInMemoryEventService<Note>();
    let pendingGap: Gap | undefined;
    const gappy: EventService<Note> = {
      get liveSubscriptions() {
        return inner.liveSubscriptions;
      },
      get closed() {
        return inner.closed;
      },
      publish: (e) => inner.publish(e),
      publishConfirmed: (e) => inner.publishConfirmed(e),
      close: () => inner.close(),
      async subscribe(options?: SubscribeOptions): Promise<Subscription<Note>> {
        const sub = await inner.subscribe(options);
        const wrapped: Subscription<Note> = {
          get id() {
            return sub.id;
          },
          get pending() {
            return sub.pending;
          },
          get position() {
            return sub.position;
          },
          get replaying() {
            return sub.replaying;
          },
          get delivered() {
            return sub.delivered;
          },
          get dropped() {
            return sub.dropped;
          },
          get closed() {
            return sub.closed;
          },
          takeGap() {
            const gap = pendingGap;
            pendingGap = undefined;
            return gap;
          },
          next: () => sub.next(),
          close: () => sub.close(),
          [Symbol.asyncIterator]: () => wrapped,
          [Symbol.asyncDispose]: () => sub.close(),
        };
        return wrapped;
      },
    };
    const { url, service } = await start({}, gappy);
    const client = await openSse(`${url}/ingest/monitor`, auth);
    await until(() => service.liveSubscriptions === 1);
    service.publish({ n: 1 });
    await client.waitFor((m) => m.length >= 2);
    pendingGap = { reason: 'reconnect', dropped: 0 };
    service.publish({ n: 2 });
    service.publish({ n: 3 });
    await client.waitFor((m) => m.length >= 5);
    // Reported at the first point reached after the gap became visible: never
    // ahead of an event the consumer had still to read, so state re-fetched on
    // it is at least as new as everything before it.
    assert.deepEqual(
      client.messages.slice(1).map((m) => [m.event, m.data]),
      [
        ['message', '{"value":{"n":1}}'],
        ['message', '{"value":{"n":2}}'],
        ['gap', '{"reason":"reconnect","dropped":0}'],
        ['message', '{"value":{"n":3}}'],
      ],
    );
    client.close();
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const plain = await start();
    const a = await openSse(`${plain.url}/ingest/monitor`, { ...auth, origin: 'https://example.org' });
    assert.equal(a.headers['access-control-allow-origin'], undefined);
    a.close();
    const cors = await start({ corsOrigins: ['https://example.org'] });
    const b = await openSse(`${cors.url}/ingest/monitor`, { ...auth, origin: 'https://example.org' });
    assert.equal(b.status, 200);
    assert.equal(b.headers['access-control-allow-origin'], 'https://example.org');
    b.close();
  });

  it('serves the dashboard page with strict headers and the ping cadence', async () => {
    const { url } = await start({ pingIntervalMs: 1234 });
    const response = await fetch(`${url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await response.text(), /content="1234"/);
    assert.equal((await fetch(`${url}/assets/dashboard.js`)).status, 200);
    assert.equal((await fetch(`${url}/assets/nope.js`)).status, 404);
  });

  it('ends every stream and subscription on close', async () => {
    const { url, service, gateway } = await start();
    const client = await openSse(`${url}/ingest/monitor`, auth);
    await until(() => service.liveSubscriptions === 1);
    await gateway.close();
    await client.ended;
    assert.equal(service.liveSubscriptions, 0);
    assert.equal(gateway.openStreams, 0);
  });
});
