// A monitor gateway over Redis in a child process of its own, so a test can
// measure the gateway's memory alone and its clients cannot share its event
// loop. Run with `--expose-gc` to have memory reported after a full collection.
//   gateway-child.ts <redis url> <channel>
// It sends `{ kind: 'listening', url }`, then answers each 'status' message with
// a GatewayChildStatus ('memory': the same after a full collection); 'stop'
// closes everything and ends the process.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createMonitorGateway } from '../../src/gateway/monitor-gateway.js';
import { newIngestEventServiceRedis } from '../../src/monitor/redis-services.js';
import { GATEWAY_CHILD_TOKEN, type GatewayChildReport } from './gateway-child-protocol.js';

const [redisUrl, channel] = process.argv.slice(2);
if (!redisUrl || !channel) throw new TypeError('usage: gateway-child.ts <redis url> <channel>');

const ignore = (): void => {};
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let slowClients = 0;
const redisWarnings: string[] = [];
const ingest = newIngestEventServiceRedis(
  { debug: ignore, info: ignore, error: ignore, warn: (_fields, message) => redisWarnings.push(message) },
  undefined,
  { redisAddress: redisUrl, redisChannel: channel },
);
const gateway = createMonitorGateway({
  ingest,
  tokens: [{ token: GATEWAY_CHILD_TOKEN }],
  maxStreamsPerToken: 10_000,
  dashboard: false,
  logger: {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (fields) => {
      if (fields.reason === 'slow-client') slowClients++;
    },
  },
});

const send = (report: GatewayChildReport): void => {
  process.send?.(report);
};

process.on('message', async (message) => {
  if (message === 'status' || message === 'memory') {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (message === 'memory') {
      gc?.();
      gc?.();
    }
    send({
      kind: 'status',
      openStreams: gateway.openStreams,
      slowClients,
      reconnects: ingest.stats.reconnects,
      redisWarnings,
      memory: process.memoryUsage(),
      maxRss: process.resourceUsage().maxRSS * 1024,
      loopDelayMaxMs: loopDelay.max / 1e6,
    });
    // Each report covers the time since the last one (and never a collection the test asked for).
    loopDelay.reset();
  } else if (message === 'stop') {
    await gateway.close();
    await ingest.close();
    process.disconnect?.();
  }
});

send({ kind: 'listening', url: await gateway.listen({ port: 0, host: '127.0.0.1' }) });
