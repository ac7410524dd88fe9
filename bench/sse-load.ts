/**
 * SSE load test of the monitor gateway: N concurrent clients on loopback
 * while events are published at a steady rate; prints delivery latency
 * p50/p99, events lost and the gateway's RSS.
 *
 *   npm run bench:sse -- --clients 1000 --rate 100 --duration 15
 *
 * The gateway runs in this process; the clients run in a child process so
 * they do not share the gateway's event loop. Latency is measured from just
 * before `publish` to the client parsing the frame, on the same machine clock.
 */
import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createMonitorGateway, type MonitorEvent, newIngestEventServiceInMem } from '../src/index.js';

const TOKEN = 'bench-token';
const now = (): number => performance.timeOrigin + performance.now();

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '15' },
    'flush-interval': { type: 'string', default: '10' },
    role: { type: 'string', default: 'gateway' },
    url: { type: 'string' },
  },
});
const clients = Number(values.clients);
const rate = Number(values.rate);
const durationS = Number(values.duration);

type ToClients = { kind: 'expect'; total: number };
type FromClients =
  | { kind: 'ready'; connected: number; failed: number }
  | {
      kind: 'result';
      received: number;
      lost: number;
      disconnected: number;
      p50: number;
      p99: number;
      max: number;
      cpuPercent: number;
    };

if (values.role === 'clients') await runClients();
else await runGateway();

async function runGateway(): Promise<void> {
  const ingest = newIngestEventServiceInMem();
  const gateway = createMonitorGateway({
    ingest,
    tokens: [{ token: TOKEN }],
    maxStreamsPerToken: clients + 10,
    flushIntervalMs: Number(values['flush-interval']),
    dashboard: false,
  });
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' });
  console.log(`gateway ${url}; ${clients} clients, ${rate} events/s for ${durationS} s (pid ${process.pid})`);

  const args = ['--role', 'clients', '--url', url, '--clients', String(clients), '--rate', String(rate)];
  const child = fork(fileURLToPath(import.meta.url), [...args, '--duration', String(durationS)], {
    execArgv: process.execArgv,
  });
  const messages: FromClients[] = [];
  let wake: () => void = () => {};
  child.on('message', (message: FromClients) => {
    messages.push(message);
    wake();
  });
  const next = async (kind: FromClients['kind']): Promise<FromClients> => {
    for (;;) {
      const found = messages.find((m) => m.kind === kind);
      if (found) return found;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const ready = await next('ready');
  console.log(
    `connected ${ready.kind === 'ready' ? ready.connected : 0} clients (live subscriptions ${ingest.liveSubscriptions})`,
  );

  let rssMax = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 250);
  const loadBefore = loadavg()[0] ?? 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let seq = 0;
  const total = Math.round(rate * durationS);
  // Drift-free pacing: each tick publishes whatever is due by now.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (seq < due) {
        seq++;
        const event: MonitorEvent = {
          type: 'sip_updated_event',
          value: {
            uuid: '6f1c3a52-8b1e-4d7a-9c1e-2b8f4d6a1e90',
            item: {
              uuid: '6f1c3a52-8b1e-4d7a-9c1e-2b8f4d6a1e90',
              name: `bench|${seq}|${now().toFixed(3)}|`,
              status: 'processing',
              file_count: 1342,
              created_at: '2024-05-13T09:21:44.118233Z',
              started_at: '2024-05-13T09:21:45.902117304Z',
              uploader_uuid: '00000009-4f5e-4c1b-9a51-1c2f7f3a9b10',
              uploader_email: 'archivist@example.org',
              uploader_name: 'Ada Archivist',
              batch_uuid: '00000005-4f5e-4c1b-9a51-1c2f7f3a9b10',
              batch_identifier: 'batch-2024-05-13',
              batch_status: 'processing',
            },
          },
        };
        ingest.publish(event);
      }
      if (seq >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  child.send({ kind: 'expect', total } satisfies ToClients);
  const result = await next('result');
  clearInterval(rssTimer);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  if (result.kind !== 'result') throw new Error('unexpected message');

  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;
  console.log('');
  console.log(`published          ${total} events in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)}/s)`);
  console.log(
    `deliveries         ${result.received} of ${total * clients} expected (${(result.received / elapsed).toFixed(0)}/s)`,
  );
  console.log(`events lost        ${result.lost}   clients disconnected: ${result.disconnected}`);
  console.log(`latency p50        ${result.p50.toFixed(1)} ms`);
  console.log(`latency p99        ${result.p99.toFixed(1)} ms`);
  console.log(`latency max        ${result.max.toFixed(1)} ms`);
  console.log(`gateway RSS max    ${mb(rssMax)}`);
  console.log(
    `gateway CPU        ${(((cpu.user + cpu.system) / 1e6 / elapsed) * 100).toFixed(0)}% of one core (user+system)`,
  );
  // Other processes on the machine delay the gateway's event loop: say so.
  console.log(`machine load avg   ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after (1-min)`);
  console.log(`clients CPU        ${result.cpuPercent.toFixed(0)}% of one core (separate process)`);
  const pass = result.p99 < 100 && result.lost === 0 && rssMax < 300 * 1024 * 1024;
  console.log(`targets (p99 < 100 ms, no loss, RSS < 300 MB): ${pass ? 'met' : 'NOT met'}`);

  child.kill();
  await gateway.close();
  await ingest.close();
  process.exit(0);
}

async function runClients(): Promise<void> {
  const url = String(values.url);
  // One slot per expected delivery (capped), filled in arrival order.
  const latencies = new Float64Array(Math.min(20_000_000, Math.ceil(clients * rate * durationS * 1.05) + 1));
  let count = 0;
  const received = new Uint32Array(clients);
  let disconnected = 0;
  const sockets: Socket[] = [];
  let expected = Number.POSITIVE_INFINITY;
  let complete = 0;
  let connected = 0;
  let finish: () => void = () => {};

  const { hostname, port } = new URL(url);
  const head = Buffer.from(
    `GET /ingest/monitor HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  const MARK = Buffer.from('bench|');
  const BAR = 0x7c;
  // Raw sockets, not node:http: the client side must cost far less than the
  // gateway, or the benchmark measures its own parser. Frames are found by
  // their marker; chunked-encoding size lines in between are simply skipped.
  const open = (index: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(Number(port), hostname);
      sockets.push(socket);
      let hello = false;
      let carry: Buffer | undefined;
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write(head));
      socket.on('data', (chunk: Buffer) => {
        const at = now();
        if (!hello) {
          hello = true;
          const ok = chunk.subarray(0, 12).toString('latin1') === 'HTTP/1.1 200';
          resolve(ok);
          if (!ok) socket.destroy();
        }
        const data = carry ? Buffer.concat([carry, chunk]) : chunk;
        carry = undefined;
        let from = 0;
        for (;;) {
          const mark = data.indexOf(MARK, from);
          if (mark < 0) break;
          const a = data.indexOf(BAR, mark + 6);
          const b = a < 0 ? -1 : data.indexOf(BAR, a + 1);
          if (b < 0) {
            carry = data.subarray(mark);
            break;
          }
          const sent = Number(data.toString('latin1', a + 1, b));
          if (count < latencies.length) latencies[count++] = at - sent;
          const got = (received[index] ?? 0) + 1;
          received[index] = got;
          if (got === expected) {
            complete++;
            finish();
          }
          from = b + 1;
        }
        // Keep a possibly split marker for the next chunk.
        if (carry === undefined && data.length >= 5) carry = Buffer.from(data.subarray(data.length - 5));
      });
      socket.on('close', () => {
        if (hello) disconnected++;
        else resolve(false);
      });
    });

  let failed = 0;
  // Connect in waves so the accept queue is not flooded.
  for (let i = 0; i < clients; i += 100) {
    const wave = await Promise.all(Array.from({ length: Math.min(100, clients - i) }, (_, k) => open(i + k)));
    for (const ok of wave) {
      if (ok) connected++;
      else failed++;
    }
  }
  process.send?.({ kind: 'ready', connected, failed } satisfies FromClients);

  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const message = await new Promise<ToClients>((resolve) => process.once('message', (m: ToClients) => resolve(m)));
  const cpu = process.cpuUsage(cpuStart);
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)) * 100;
  expected = message.total;
  // Wait until every connected client has every event, or 10 s pass (then what is missing is lost).
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    finish = () => {
      if (complete < connected) return;
      clearTimeout(timer);
      resolve();
    };
    for (const n of received) if (n >= expected) complete++;
    finish();
  });
  const sample = latencies.subarray(0, count).sort();
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.floor(q * sample.length))] ?? Number.NaN;
  let lost = 0;
  for (const n of received) lost += Math.max(0, expected - n);
  // A client that never connected is reported as failed, not as loss.
  lost -= failed * expected;
  process.send?.({
    kind: 'result',
    received: received.reduce((a, b) => a + b, 0),
    lost,
    disconnected,
    p50: at(0.5),
    p99: at(0.99),
    max: sample[sample.length - 1] ?? Number.NaN,
    cpuPercent,
  } satisfies FromClients);
  for (const socket of sockets) socket.destroy();
}
