import { ingestCodec } from '../monitor/codec.js';
import { encodeRedactedStorageEvent } from '../monitor/redaction.js';
import type { MonitorEvent, StorageMonitorEvent } from '../monitor/schemas.js';
import type { IngestEventService, StorageEventService } from '../monitor/services.js';
import { keepTraceContexts, traceContextOf } from '../observability/event-trace.js';
import { TokenAuthenticator, type TokenConfig } from './auth.js';
import { createGatewayServer, type Gateway, type GatewayTuning, type StreamSource } from './gateway.js';

/** Options of {@link createMonitorGateway}. */
export interface MonitorGatewayOptions extends GatewayTuning {
  /** Served at `GET /ingest/monitor`. */
  readonly ingest?: IngestEventService;
  /** Served at `GET /storage/monitor`, every event redacted first. */
  readonly storage?: StorageEventService;
  /** Accepted bearer tokens; at least one (the gateway never runs open). */
  readonly tokens: readonly TokenConfig[];
  /**
   * Whether each event goes out with the W3C trace context it was published
   * in (top-level `traceparent`/`tracestate`, as on Redis), so a browser can
   * name the trace of what it shows. Turn off to keep trace ids and vendor
   * `tracestate` inside.
   * @default true
   */
  readonly forwardTraceContext?: boolean;
}

/**
 * The monitor gateway: Enduro's `GET /ingest/monitor` and
 * `GET /storage/monitor` as Server-Sent Events (`data: <wire JSON>`, a ping
 * event on connect and every `pingIntervalMs`), behind bearer-token auth, plus
 * the live dashboard at `/`.
 *
 * Each client is one subscription with its own bounded buffer; a client that
 * cannot keep up is disconnected, one that leaves releases its subscription at
 * once, and one whose subscription missed events receives an `event: gap`
 * message. `GET /healthz` is liveness; `GET /readyz` is 503, with the reason,
 * until every service is subscribed and while one is down, and clients hear
 * `event: backend` (`lost`, then `restored` with the gap) as it happens. Storage events leave without location credentials. Events keep the
 * trace context they were published in (see `forwardTraceContext`). Each event
 * is encoded once, whatever the number of clients.
 *
 * @example
 * ```ts
 * const gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: process.env.TOKEN! }] });
 * const url = await gateway.listen({ port: 8080 });
 * // on shutdown
 * await gateway.close();
 * ```
 * @throws {TypeError} when no service or no token is given, or an option is invalid.
 */
export function createMonitorGateway(options: MonitorGatewayOptions): Gateway {
  const { ingest, storage, tokens, forwardTraceContext = true, ...tuning } = options;
  if (ingest === undefined && storage === undefined) {
    throw new TypeError('options.ingest or options.storage must be given');
  }
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new TypeError('options.tokens must hold at least one token');
  }
  const streams: { ingest?: StreamSource<object>; storage?: StreamSource<object> } = {};
  if (forwardTraceContext) keepTraceContexts();
  const traceOf = forwardTraceContext ? traceContextOf : () => undefined;
  if (ingest !== undefined) {
    const source: StreamSource<MonitorEvent> = {
      service: ingest,
      toWire: (event) => ingestCodec.encode(event, traceOf(event)),
      ping: (message) => ingestCodec.encode({ type: 'ingest_ping_event', value: { message } }),
    };
    streams.ingest = source as unknown as StreamSource<object>;
  }
  if (storage !== undefined) {
    const source: StreamSource<StorageMonitorEvent> = {
      service: storage,
      toWire: (event) => encodeRedactedStorageEvent(event, traceOf(event)),
      ping: (message) => encodeRedactedStorageEvent({ type: 'storage_ping_event', value: { message } }),
    };
    streams.storage = source as unknown as StreamSource<object>;
  }
  return createGatewayServer({ ...tuning, authenticator: new TokenAuthenticator(tokens), streams });
}
