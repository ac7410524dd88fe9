import { chainAuthenticators } from '../auth/chain.js';
import type { EventTypeFilter } from '../auth/event-access.js';
import { TokenAuthenticator, type TokenConfig } from '../auth/static-tokens.js';
import type { Authenticator } from '../auth/types.js';
import type { EventService } from '../core/contract.js';
import { boundedLogger, type Logger, silentLogger } from '../core/logger.js';
import { ingestCodec } from '../monitor/codec.js';
import type { MonitorStateEvent } from '../monitor/monitor-state.js';
import { encodeRedactedStorageEvent } from '../monitor/redaction.js';
import {
  INGEST_EVENT_TYPES,
  type MonitorEvent,
  STORAGE_EVENT_TYPES,
  type StorageMonitorEvent,
} from '../monitor/schemas.js';
import type { IngestEventService, StorageEventService } from '../monitor/services.js';
import { keepTraceContexts, traceContextOf } from '../observability/event-trace.js';
import { createGatewayServer, type Gateway, type GatewayTuning, type StreamSource } from './gateway.js';
import { readMonitorSnapshot, snapshotJson } from './monitor-snapshot.js';

/** How the state routes read the retained history. */
export interface MonitorStateRouteOptions {
  /** Most events one read folds; the state then reflects the position reached. @default 20000 */
  readonly maxEvents?: number;
  /** Largest answer in bytes; past it the oldest SIPs and AIPs are left out. @default 4194304 (4 MiB) */
  readonly maxBytes?: number;
  /** Longest one read may take, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * How long an answer is reused for clients allowed the same event types, in
   * ms: a crowd of reloading pages costs one read. A reused answer is older,
   * never wrong: the page resumes its stream from the answer's position.
   * @default 1000
   */
  readonly cacheMs?: number;
}

/** Options of {@link createMonitorGateway}. */
export interface MonitorGatewayOptions extends GatewayTuning {
  /** Served at `GET /ingest/monitor`. */
  readonly ingest?: IngestEventService;
  /** Served at `GET /storage/monitor`, every event redacted first. */
  readonly storage?: StorageEventService;
  /**
   * Static bearer tokens, each optionally with Enduro attributes. Tried
   * before `authenticators`. At least one token or authenticator is needed
   * unless `auth` is `false`.
   */
  readonly tokens?: readonly TokenConfig[];
  /**
   * Further token sources (e.g. OIDC providers), tried in order after the
   * static tokens; a token is accepted if any source accepts it.
   */
  readonly authenticators?: readonly Authenticator[];
  /**
   * `false` disables authentication: no token is asked for and every client
   * receives every event, as Enduro does with `[api.auth] enabled = false`.
   * Must be chosen explicitly, and excludes `tokens` and `authenticators`.
   */
  readonly auth?: false;
  /**
   * Whether each event goes out with the W3C trace context it was published
   * in (top-level `traceparent`/`tracestate`, as on Redis), so a browser can
   * name the trace of what it shows. Turn off to keep trace ids and vendor
   * `tracestate` inside.
   * @default true
   */
  readonly forwardTraceContext?: boolean;
  /**
   * `GET /ingest/state` and `GET /storage/state`: the monitor state folded
   * from the retained history (same auth, filtering and redaction as the
   * streams) and the position it reflects, as `{ position, state, events,
   * complete }`. A backend without replay answers the empty state at
   * position `null`. `false` turns the routes off.
   */
  readonly state?: MonitorStateRouteOptions | false;
}

/**
 * The monitor gateway: Enduro's `GET /ingest/monitor` and
 * `GET /storage/monitor` as Server-Sent Events (`data: <wire JSON>`, a ping
 * event on connect and every `pingIntervalMs`), behind bearer-token auth, plus
 * the live dashboard at `/`. A client whose principal carries Enduro
 * attributes receives only the events Enduro's table allows it (pings
 * always), and a stream opened with a credential that expires ends then.
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
 * @throws {TypeError} when no service is given, no token source (nor `auth: false`), or an option is invalid.
 */
export function createMonitorGateway(options: MonitorGatewayOptions): Gateway {
  const {
    ingest,
    storage,
    tokens = [],
    authenticators = [],
    auth,
    forwardTraceContext = true,
    state: stateOptions = {},
    ...tuning
  } = options;
  if (ingest === undefined && storage === undefined) {
    throw new TypeError('options.ingest or options.storage must be given');
  }
  const logger = boundedLogger(tuning.logger ?? silentLogger);
  const authenticator = authenticatorOf(tokens, authenticators, auth);
  const streams: { ingest?: StreamSource<object>; storage?: StreamSource<object> } = {};
  if (forwardTraceContext) keepTraceContexts();
  const traceOf = forwardTraceContext ? traceContextOf : () => undefined;
  if (ingest !== undefined) {
    const source: StreamSource<MonitorEvent> = {
      service: ingest,
      toWire: (event) => ingestCodec.encode(event, traceOf(event)),
      ping: (message) => ingestCodec.encode({ type: 'ingest_ping_event', value: { message } }),
      typeOf: (event) => event.type,
    };
    if (stateOptions !== false) {
      const toView = (event: MonitorEvent) => JSON.parse(ingestCodec.encode(event)).value as MonitorStateEvent;
      Object.assign(source, { state: stateRoute('ingest', toView, INGEST_EVENT_TYPES, stateOptions, logger) });
    }
    streams.ingest = source as unknown as StreamSource<object>;
  }
  if (storage !== undefined) {
    const source: StreamSource<StorageMonitorEvent> = {
      service: storage,
      toWire: (event) => encodeRedactedStorageEvent(event, traceOf(event)),
      ping: (message) => encodeRedactedStorageEvent({ type: 'storage_ping_event', value: { message } }),
      typeOf: (event) => event.type,
    };
    if (stateOptions !== false) {
      const toView = (event: StorageMonitorEvent) =>
        JSON.parse(encodeRedactedStorageEvent(event)).value as MonitorStateEvent;
      Object.assign(source, { state: stateRoute('storage', toView, STORAGE_EVENT_TYPES, stateOptions, logger) });
    }
    streams.storage = source as unknown as StreamSource<object>;
  }
  return createGatewayServer({ ...tuning, authenticator, streams });
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || (value === 0 && name !== 'cacheMs')) {
    throw new TypeError(`options.state.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Answers a state request: the events a client may see, each exactly as its
 * stream would send it (the wire JSON's value, so redacted and canonical),
 * folded by the dashboard's reducer. One read per set of allowed event types
 * at a time, reused for `cacheMs`.
 */
function stateRoute<E extends { type: string }>(
  stream: 'ingest' | 'storage',
  toView: (event: E) => MonitorStateEvent,
  types: readonly string[],
  options: MonitorStateRouteOptions,
  logger: Logger,
): (service: EventService<E>, allowed: EventTypeFilter | undefined) => Promise<string> {
  const maxEvents = positive('maxEvents', options.maxEvents ?? 20_000);
  const maxBytes = positive('maxBytes', options.maxBytes ?? 4 * 1024 * 1024);
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 5000);
  const cacheMs = positive('cacheMs', options.cacheMs ?? 1000);
  const answers = new Map<string, { readonly until: number; readonly body: Promise<string> }>();
  return (service, allowed) => {
    const key = allowed === undefined ? '*' : types.map((type) => (allowed(type) ? '1' : '0')).join('');
    const now = Date.now();
    const cached = answers.get(key);
    if (cached !== undefined && (cached.until > now || cached.until === 0)) return cached.body;
    // Pruned as it goes: at most one entry per set of allowed types, and stale ones leave on the next request.
    for (const [k, v] of answers) if (v.until !== 0 && v.until <= now) answers.delete(k);
    const view = allowed === undefined ? toView : (event: E) => (allowed(event.type) ? toView(event) : undefined);
    const entry = {
      until: 0,
      body: readMonitorSnapshot(service, { view, maxEvents, timeoutMs }).then((snapshot) => {
        if (snapshot.skipped > 0) {
          logger.warn({ stream, skipped: snapshot.skipped }, 'monitor state: events that cannot be encoded left out');
        }
        return snapshotJson(snapshot, maxBytes);
      }),
    };
    answers.set(key, entry);
    entry.body.then(
      () => answers.set(key, { until: Date.now() + cacheMs, body: entry.body }),
      () => answers.delete(key),
    );
    return entry.body;
  };
}

/** The token sources in order, or `false` for the explicit choice of no auth; never open by omission. */
function authenticatorOf(
  tokens: readonly TokenConfig[],
  authenticators: readonly Authenticator[],
  auth: false | undefined,
): Authenticator | false {
  if (!Array.isArray(tokens)) throw new TypeError('options.tokens must be an array');
  if (!Array.isArray(authenticators)) throw new TypeError('options.authenticators must be an array');
  if (auth !== undefined && auth !== false) throw new TypeError('options.auth may only be false');
  if (auth === false) {
    if (tokens.length > 0 || authenticators.length > 0) {
      throw new TypeError('options.auth is false: options.tokens and options.authenticators must not be given');
    }
    return false;
  }
  if (tokens.length === 0 && authenticators.length === 0) {
    throw new TypeError(
      'options.tokens or options.authenticators must hold at least one token source (or set auth: false)',
    );
  }
  // Chained even when alone: the chain turns a source's AuthError into a 401.
  return chainAuthenticators(tokens.length > 0 ? [new TokenAuthenticator(tokens), ...authenticators] : authenticators);
}
