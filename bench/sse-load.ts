/**
 * SSE load test of the monitor gateway: N concurrent clients on loopback
 * while events are published at a steady rate; prints delivery latency
 * p50/p99, events lost and the gateway's RSS.
 *
 *   npm run bench:sse -- --clients 1000 --rate 100 --duration 15
 *
 * Each round runs a fresh gateway process, and the clients in a child of it
 * so they do not share the gateway's event loop; figures are the median over
 * the rounds (`--rounds`, default 3) with their spread. Latency is measured
 * from just before `publish` to the client parsing the frame, on the same
 * machine clock.
 */
import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createMonitorGateway, type MonitorEvent, newIngestEventServiceInMem } from '../src/index.js';
import {
  describeLoad,
  describeSetup,
  inChild,
  int,
  interleaved,
  percentile,
  reply,
  roundsOption,
  spreadOf,
  summarize,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const TOKEN = 'bench-token';
const now = (): number => performance.timeOrigin + performance.now();

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '15' },
    'flush-interval': { type: 'string', default: '10' },
    role: { type: 'string', default: 'main' },
    rounds: { type: 'string', default: '3' },
    url: { type: 'string' },
  },
});
const clients = Number(values.clients);
const rate = Number(values.rate);
const durationS = Number(values.duration);

type ToClients = { kind: 'expect'; total: number };
type FromClients = { kind: 'ready'; connected: number; failed: number } | ({ kind: 'result' } & ClientsResult);

/** What the clients process saw: deliveries, loss, latency (ms) and its own CPU. */
interface ClientsResult {
  received: number;
  lost: number;
  disconnected: number;
  p50: number;
  p99: number;
  max: number;
  cpuPercent: number;
}

/** What one round's gateway process reports. */
interface GatewayResult {
  published: number;
  seconds: number;
  expected: number;
  rssMax: number;
  cpuPercent: number;
  clients: ClientsResult;
}

const SELF = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

if (values.role === 'clients') await runClients();
else if (values.role === 'gateway') await reply(runGateway);
else await main();

async function main(): Promise<void> {
  const rounds = roundsOption(3);
  console.log(describeSetup('Tidings SSE gateway load benchmark'));
  console.log(
    `${clients} clients (one child process), ${rate} events/s for ${durationS} s, flush interval ` +
      `${values['flush-interval']} ms; ${rounds} rounds, each a fresh gateway process; median (min–max) over the rounds\n`,
  );
  const load = watchLoad();
  const args = ['--role', 'gateway', '--clients', String(clients), '--rate', String(rate)];
  const all = [...args, '--duration', String(durationS), '--flush-interval', String(values['flush-interval'])];
  const results =
    (
      await interleaved(
        rounds,
        ['gateway'],
        () => inChild<GatewayResult>(SELF, all),
        (_, round, r) =>
          process.stderr.write(
            `  round ${round + 1}: ${int(r.clients.received)} of ${int(r.expected)} delivered, p99 ${r.clients.p99.toFixed(1)} ms, ` +
              `RSS ${(r.rssMax / MB).toFixed(0)} MB\n`,
          ),
      )
    ).get('gateway') ?? [];
  const of = (pick: (r: GatewayResult) => number, format: (value: number) => string): string =>
    spreadOf(results.map(pick), format);
  const fixed = (value: number): string => value.toFixed(1);
  const whole = (value: number): string => value.toFixed(0);
  console.log(
    `\n${table(
      ['measure', `median (min–max) of ${results.length}`],
      [
        ['deliveries', `${of((r) => r.clients.received, int)} of ${int(results[0]?.expected ?? 0)}`],
        ['events lost', of((r) => r.clients.lost, int)],
        ['clients disconnected', of((r) => r.clients.disconnected, int)],
        ['latency p50, ms', of((r) => r.clients.p50, fixed)],
        ['latency p99, ms', of((r) => r.clients.p99, fixed)],
        ['latency max, ms', of((r) => r.clients.max, fixed)],
        ['gateway RSS max, MB', of((r) => r.rssMax / MB, whole)],
        ['gateway CPU, % of one core (user+system)', of((r) => r.cpuPercent, whole)],
        ['clients CPU, % of one core (separate process)', of((r) => r.clients.cpuPercent, whole)],
      ],
    )}`,
  );
  console.log(`\n${describeLoad(load.stop())}`);
  const verdicts = new Verdicts();
  const p99 = summarize(results.map((r) => r.clients.p99)).median;
  const lost = results.reduce((sum, r) => sum + r.clients.lost + r.clients.disconnected, 0);
  const rss = Math.max(...results.map((r) => r.rssMax));
  verdicts.check('p99 < 100 ms (median of rounds)', `${p99.toFixed(1)} ms`, p99 < 100);
  verdicts.check('no loss, no disconnect in any round', `${int(lost)} lost or disconnected`, lost === 0);
  verdicts.check('gateway RSS < 300 MB in every round', `${(rss / MB).toFixed(0)} MB at most`, rss < 300 * MB);
  verdicts.print();
}

async function runGateway(): Promise<GatewayResult> {
  const ingest = newIngestEventServiceInMem();
  const gateway = createMonitorGateway({
    ingest,
    tokens: [{ token: TOKEN }],
    maxStreamsPerToken: clients + 10,
    flushIntervalMs: Number(values['flush-interval']),
    dashboard: false,
  });
  const url = await gateway.listen({ port: 0, host: '127.0.0.1' });
  console.error(`gateway ${url}; ${clients} clients, ${rate} events/s for ${durationS} s (pid ${process.pid})`);

  const args = ['--role', 'clients', '--url', url, '--clients', String(clients), '--rate', String(rate)];
  const child = fork(SELF, [...args, '--duration', String(durationS)], {
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
  console.error(
    `connected ${ready.kind === 'ready' ? ready.connected : 0} clients (live subscriptions ${ingest.liveSubscriptions})`,
  );

  let rssMax = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 250);
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

  child.kill();
  await gateway.close();
  await ingest.close();
  return {
    published: total,
    seconds: elapsed,
    expected: total * clients,
    rssMax,
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100,
    clients: result,
  };
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
  let lost = 0;
  for (const n of received) lost += Math.max(0, expected - n);
  // A client that never connected is reported as failed, not as loss.
  lost -= failed * expected;
  process.send?.({
    kind: 'result',
    received: received.reduce((a, b) => a + b, 0),
    lost,
    disconnected,
    p50: percentile(sample, 0.5),
    p99: percentile(sample, 0.99),
    max: sample[sample.length - 1] ?? Number.NaN,
    cpuPercent,
  } satisfies FromClients);
  for (const socket of sockets) socket.destroy();
}
