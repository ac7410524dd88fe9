import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { PrometheusMetrics } from '../gateway/prometheus-metrics.js';
import type { Bridge } from './bridge.js';

/** A bridge's health endpoints, listening. */
export interface BridgeHealthServer {
  /** `http://host:port`, the port resolved when 0 was asked for. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a bridge's health over HTTP: `GET /healthz` (the process answers),
 * `GET /readyz` (200 when the bridge is ready, 503 with its reasons; JSON
 * with its role and counts either way, never an address or password) and,
 * with `metrics`, `GET /metrics` in Prometheus text format.
 */
export async function listenBridgeHealth(
  bridge: Bridge,
  options: { port: number; host: string; metrics?: PrometheusMetrics },
): Promise<BridgeHealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
    } else if (path === '/readyz') {
      const status = bridge.status();
      response
        .writeHead(status.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(`${JSON.stringify(status)}\n`);
    } else if (path === '/metrics' && options.metrics !== undefined) {
      options.metrics.serve(request, response);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  server.listen(options.port, options.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the health server has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
