// A monitor gateway over a Redis stream in a child process of its own, so a
// test can kill it (SIGKILL) like a crashed gateway:
//   stream-gateway-child.ts <redis url> <stream key>
// It sends `{ kind: 'listening', url }` once it listens; 'stop' closes it.
import { createMonitorGateway } from '../../src/gateway/monitor-gateway.js';
import { newIngestEventServiceRedisStream } from '../../src/monitor/redis-stream-services.js';
import { GATEWAY_CHILD_TOKEN } from './gateway-child-protocol.js';

const [redisUrl, streamKey] = process.argv.slice(2);
if (!redisUrl || !streamKey) throw new TypeError('usage: stream-gateway-child.ts <redis url> <stream key>');

const ingest = newIngestEventServiceRedisStream(undefined, undefined, { redisAddress: redisUrl, streamKey });
const gateway = createMonitorGateway({
  ingest,
  tokens: [{ token: GATEWAY_CHILD_TOKEN }],
  dashboard: false,
  pingIntervalMs: 600_000,
});

process.on('message', async (message) => {
  if (message !== 'stop') return;
  await gateway.close();
  await ingest.close();
  process.disconnect?.();
});

process.send?.({ kind: 'listening', url: await gateway.listen({ port: 0, host: '127.0.0.1' }) });
