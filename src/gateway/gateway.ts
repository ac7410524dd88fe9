import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyCors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type EventAccessTable, type EventTypeFilter, eventTypeFilter } from '../auth/event-access.js';
import { presentedToken } from '../auth/static-tokens.js';
import type { Authenticator, AuthResult, Principal, StreamScope } from '../auth/types.js';
import type { EventService, Subscription } from '../core/contract.js';
import { boundedLogger, type Logger, silentLogger } from '../core/logger.js';
import { PositionError, ReplayUnsupportedError } from '../errors.js';
import { BackendWatch, readiness } from './backend-watch.js';
import { type DashboardAsset, loadDashboardAssets } from './dashboard-assets.js';
import { type DashboardSignIn, fillSignIn, pageHeadersFor } from './dashboard-sign-in.js';
import { FlushScheduler } from './flush-scheduler.js';
import { FrameCache } from './frame-cache.js';
import { lastEventIdOf } from './last-event-id.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';
import { withReplayWindow } from './replay-window.js';
import { resumeGapFrame, SseStream, type StreamEndReason } from './sse-stream.js';
import { formatSseMessage } from './sse-writer.js';

/** One event stream the gateway serves: a service and how its events look on the wire. */
export interface StreamSource<T extends object> {
  readonly service: EventService<T>;
  /** The wire JSON of an event as it may leave for a browser (already redacted). */
  readonly toWire: (event: T) => string;
  /** The wire JSON of this stream's ping event carrying `message`. */
  readonly ping: (message: string) => string;
  /**
   * The event's type, looked up in the access table for clients with
   * attributes. Absent: such clients see no events (only pings and news).
   */
  readonly typeOf?: (event: T) => string;
  /**
   * Answers `GET /<scope>/state` with this JSON, after the stream's own
   * authentication. `service` is the one the stream is served from (its
   * positions are the stream's `id:`s); `allowed` is the client's event-type
   * filter, `undefined` when it may see every event. Absent: no state route.
   */
  readonly state?: (service: EventService<T>, allowed: EventTypeFilter | undefined) => Promise<string>;
}

/** Tunables shared by the gateway constructors. */
export interface GatewayTuning {
  /** Interval between ping events on each stream, in ms. @default 10000 */
  readonly pingIntervalMs?: number;
  /**
   * Events buffered per client by its subscription, and frames held while its
   * socket is full; a client more than that behind is disconnected.
   * @default 1024
   */
  readonly clientBufferSize?: number;
  /**
   * Bytes held for one client whose socket is full (frames waiting for it plus
   * its socket's unsent buffer); a client more than that behind is
   * disconnected. Frames are shared between clients, so a crowd of stalled
   * clients holds about this much in all, not this much each. The default is
   * Redis' hard limit for a pub/sub client: the gateway may catch up on that
   * much from Redis in one burst, which a healthy client must be able to take.
   * @default 33554432 (32 MiB)
   */
  readonly clientBacklogBytes?: number;
  /**
   * How long a browser waits before reconnecting a dropped stream, in ms:
   * sent once as `retry:` at the start of each stream. @default 2000
   */
  readonly retryMs?: number;
  /**
   * Bounds of the window the gateway keeps itself for a stream whose service
   * cannot replay (Redis pub/sub), so a client reconnecting with
   * `Last-Event-ID` still resumes (see {@link withReplayWindow}). A service
   * that replays (in-memory, Redis Streams) is resumed from its own history.
   * @default { maxEvents: 10000, maxAgeMs: 3600000, maxBytes: 8388608 }
   */
  readonly replayWindow?: {
    readonly maxEvents?: number;
    readonly maxAgeMs?: number;
    /** Most wire bytes retained (the process holds about three times that: event, wire text, frame). @default 4194304 (4 MiB) */
    readonly maxBytes?: number;
  };
  /** Longest delay before frames are written, so writes coalesce. @default 10 */
  readonly flushIntervalMs?: number;
  /** Concurrent streams one token may hold; one more gets 429. @default 64 */
  readonly maxStreamsPerToken?: number;
  /** Origins allowed by CORS. Empty (default): no CORS headers, same-origin only. */
  readonly corsOrigins?: readonly string[];
  /** Serve the dashboard at `/`. @default true */
  readonly dashboard?: boolean;
  /** Let the dashboard sign users in through this OpenID provider (pasted tokens keep working). */
  readonly dashboardSignIn?: DashboardSignIn;
  /** Where connection and shutdown news goes; tokens are never logged. @default silent */
  readonly logger?: Logger;
  /**
   * Serves these metrics on `GET /metrics` in Prometheus text format (no token:
   * bind the gateway where only your scraper reaches it). Off when absent.
   */
  readonly metrics?: PrometheusMetrics;
}

/** Options of {@link createGatewayServer}. */
export interface GatewayServerOptions extends GatewayTuning {
  /**
   * Checks each stream request's bearer token. `false`: authentication is
   * disabled, every request passes and every event is sent (Enduro's
   * semantics); the stream limit then applies per client address.
   */
  readonly authenticator: Authenticator | false;
  /** What each event type requires of a principal's attributes. @default MONITOR_EVENT_ACCESS */
  readonly eventAccess?: EventAccessTable;
  readonly streams: Partial<Record<StreamScope, StreamSource<object>>>;
}

/** Where a gateway listens. */
export interface ListenOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
}

/** A running (or ready to run) monitor gateway. */
export interface Gateway {
  /**
   * Starts watching each stream's service (its backend state feeds `/readyz`
   * and the `event: backend` news; a Redis service subscribes its channel now,
   * not at the first client), then listening.
   * @returns the base URL, e.g. `http://127.0.0.1:8080`.
   */
  listen(options?: ListenOptions): Promise<string>;
  /** SSE streams currently open. */
  readonly openStreams: number;
  /**
   * Ends every stream (each response finishes, each subscription closes),
   * stops watching the services, and stops the HTTP server. Does not close
   * the event services: their owner does. Idempotent.
   */
  close(): Promise<void>;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Tells reverse proxies (nginx) not to buffer the stream.
  'x-accel-buffering': 'no',
} as const;

const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

const ANONYMOUS: Principal = Object.freeze({ label: 'anonymous', scopes: new Set<StreamScope>(['ingest', 'storage']) });

const PING_MESSAGE_HELLO = 'Hello';
/** Of wire JSON: thousands of Enduro's events (about 1 KB each), yet a bounded cost when events are large. */
const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;
const PING_MESSAGE = 'Ping';

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`options.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Builds the HTTP gateway over any event sources. Most users want
 * {@link createMonitorGateway}, which wires Enduro's ingest and storage
 * services with their codecs and redaction.
 * @throws {TypeError} on invalid options.
 */
export function createGatewayServer(options: GatewayServerOptions): Gateway {
  // Request-borne values (a token label, a refusal's reason) reach these lines: every value is capped.
  const logger = boundedLogger(options.logger ?? silentLogger);
  const pingIntervalMs = positiveInteger('pingIntervalMs', options.pingIntervalMs ?? 10_000);
  const bufferSize = positiveInteger('clientBufferSize', options.clientBufferSize ?? 1024);
  const backlogBytes = positiveInteger('clientBacklogBytes', options.clientBacklogBytes ?? 32 * 1024 * 1024);
  const maxStreamsPerToken = positiveInteger('maxStreamsPerToken', options.maxStreamsPerToken ?? 64);
  const scheduler = new FlushScheduler(options.flushIntervalMs ?? 10);
  const retryMs = options.retryMs ?? 2000;
  if (!Number.isSafeInteger(retryMs) || retryMs < 0) {
    throw new TypeError(`options.retryMs must be a non-negative integer, got ${String(retryMs)}`);
  }
  // Every stream is served from a service that can replay: its own, or a window the gateway keeps over it.
  const services = new Map<StreamScope, EventService<object>>();
  const frameCaches = new Map<StreamScope, FrameCache<object>>();
  for (const scope of ['ingest', 'storage'] as const) {
    const source = options.streams[scope];
    if (source === undefined) continue;
    const frames = new FrameCache<object>(source.toWire);
    frameCaches.set(scope, frames);
    const window = {
      maxBytes: DEFAULT_WINDOW_BYTES,
      ...options.replayWindow,
      sizeOf: (event: object) => frames.wireLength(event),
      closeService: false,
      logger,
    };
    services.set(scope, withReplayWindow(source.service, window));
  }
  const corsOrigins = options.corsOrigins ?? [];
  const assets = new Map<string, DashboardAsset>(options.dashboard === false ? [] : loadDashboardAssets());
  const page = assets.get('index.html');
  if (page !== undefined) {
    // The page's watchdog needs the ping cadence to tell a quiet stream from a dead one.
    const html = fillSignIn(
      page.body.toString('utf8').replace('{{PING_INTERVAL_MS}}', String(pingIntervalMs)),
      options.dashboardSignIn,
    );
    assets.set('index.html', { contentType: page.contentType, body: Buffer.from(html, 'utf8') });
  }

  const authenticator = options.authenticator;
  // Built once per principal (a static token's streams share one), deciding once per event type.
  const filters = new WeakMap<Principal, EventTypeFilter>();
  const filterOf = (principal: Principal): EventTypeFilter => {
    let filter = filters.get(principal);
    if (filter === undefined) {
      filter = eventTypeFilter(principal.attributes, options.eventAccess);
      filters.set(principal, filter);
    }
    return filter;
  };
  const authenticate = async (raw: IncomingMessage, scope: StreamScope): Promise<AuthResult> => {
    if (authenticator === false) return { ok: true, principal: ANONYMOUS };
    const result = await authenticator.authenticate(presentedToken(raw.headers.authorization, raw.url ?? ''), scope);
    const expiresAt = result.ok ? result.principal.expiresAt : undefined;
    if (expiresAt !== undefined && expiresAt <= Date.now()) return { ok: false, status: 401, message: 'token expired' };
    return result;
  };

  const open = new Set<SseStream<object>>();
  const perToken = new Map<string, number>();
  /** Gives back a stream slot; a token holding none leaves the map. */
  const release = (slot: string): void => {
    const left = (perToken.get(slot) ?? 1) - 1;
    if (left <= 0) perToken.delete(slot);
    else perToken.set(slot, left);
  };
  let closing = false;
  let closed: Promise<void> | undefined;

  // Our own logging only: Fastify's request logs would include query strings,
  // where a browser's token may travel.
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });

  if (corsOrigins.length > 0) {
    void app.register(fastifyCors, {
      origin: [...corsOrigins],
      methods: ['GET'],
      allowedHeaders: ['Authorization', 'Last-Event-ID', 'Cache-Control'],
      maxAge: 600,
    });
  }

  const pageHeaders = pageHeadersFor(PAGE_HEADERS, options.dashboardSignIn);
  const sendAsset = (reply: FastifyReply, name: string): FastifyReply => {
    const asset = assets.get(name);
    if (asset === undefined) return reply.code(404).send({ error: 'not found' });
    return reply.headers(pageHeaders).header('cache-control', 'no-cache').type(asset.contentType).send(asset.body);
  };

  app.get('/', (_request, reply) => sendAsset(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/assets/:file', (request, reply) => sendAsset(reply, request.params.file));
  const metrics = options.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', (request, reply) => {
      reply.hijack();
      metrics.serve(request.raw, reply.raw);
    });
  }
  // Liveness only: a backend outage is /readyz's business, and restarting the process would not end it.
  app.get('/healthz', (_request, reply) => reply.send({ status: closing ? 'closing' : 'ok', streams: open.size }));
  const watches = new Map<StreamScope, BackendWatch>();
  for (const [scope, service] of services) watches.set(scope, new BackendWatch(scope, service, logger));
  app.get('/readyz', (_request, reply) => {
    const { statusCode, body } = readiness(watches, closing);
    return reply.code(statusCode).header('cache-control', 'no-store').send(body);
  });

  for (const scope of ['ingest', 'storage'] as const) {
    const source = options.streams[scope];
    const service = services.get(scope);
    const frames = frameCaches.get(scope);
    if (source === undefined || service === undefined || frames === undefined) continue;
    const helloFrame = Buffer.from(formatSseMessage({ data: source.ping(PING_MESSAGE_HELLO), retry: retryMs }), 'utf8');
    const pingFrame = Buffer.from(formatSseMessage({ data: source.ping(PING_MESSAGE) }), 'utf8');

    app.get(`/${scope}/monitor`, async (request: FastifyRequest, reply: FastifyReply) => {
      const raw: IncomingMessage = request.raw;
      let auth: AuthResult;
      try {
        auth = await authenticate(raw, scope);
      } catch (error) {
        logger.error({ stream: scope, err: error }, 'monitor stream refused: authentication failed');
        return reply.code(503).header('retry-after', '5').send({ error: 'authentication unavailable' });
      }
      if (!auth.ok) {
        if (auth.status === 401) reply.header('www-authenticate', 'Bearer realm="tidings"');
        logger.info({ stream: scope, status: auth.status, reason: auth.message }, 'monitor stream refused');
        return reply.code(auth.status).send({ error: auth.message });
      }
      const principal = auth.principal;
      const label = principal.label;
      // Without auth every client is "anonymous": the per-token limit becomes one per address.
      const slot = authenticator === false ? `${label}@${raw.socket.remoteAddress ?? ''}` : label;
      if (closing) return reply.code(503).send({ error: 'gateway is shutting down' });
      // Answered at once rather than after the subscribe timeout: the client retries, and holds no slot meanwhile.
      const backend = watches.get(scope)?.status;
      if (backend?.state === 'down') {
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: `event service unavailable: ${backend.reason ?? 'backend down'}` });
      }
      // Fastify routes HEAD here too: answer with the stream's headers, open no stream, hold no slot.
      if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).send();
      const held = perToken.get(slot) ?? 0;
      if (held >= maxStreamsPerToken) {
        logger.warn({ stream: scope, token: label, limit: maxStreamsPerToken }, 'monitor stream refused: too many');
        return reply
          .code(429)
          .header('retry-after', '10')
          .send({ error: `too many concurrent streams for this token (limit ${maxStreamsPerToken})` });
      }
      perToken.set(slot, held + 1);
      const resume = lastEventIdOf(raw.headers, raw.url ?? '');
      let subscription: Subscription<object>;
      // A resume that cannot be honoured is told as a gap first, then the stream is live from now: never a silent start.
      let firstFrame: Buffer | undefined = resume.kind === 'malformed' ? resumeGapFrame('malformed') : undefined;
      try {
        const from = resume.kind === 'resume' ? resume.from : undefined;
        try {
          subscription = await service.subscribe({ bufferSize, overflow: 'evict', from });
        } catch (error) {
          if (!(error instanceof PositionError || error instanceof ReplayUnsupportedError)) throw error;
          logger.debug({ stream: scope, token: label, err: error }, 'monitor stream: Last-Event-ID not resumable');
          firstFrame = resumeGapFrame(error instanceof PositionError ? error.problem : 'unsupported');
          subscription = await service.subscribe({ bufferSize, overflow: 'evict' });
        }
      } catch (error) {
        release(slot);
        logger.error({ stream: scope, err: error }, 'monitor stream: subscribe failed');
        return reply.code(503).send({ error: 'event service unavailable' });
      }
      if (raw.destroyed || closing) {
        // The client left (or shutdown began) while we subscribed.
        release(slot);
        await subscription.close();
        return reply.code(503).send({ error: 'gateway is shutting down' });
      }
      reply.hijack();
      const client = subscription.id;
      // No attributes, no checks: the stream asks nothing per event.
      const typeOf = source.typeOf ?? (() => '');
      const allowed = principal.attributes === undefined ? undefined : filterOf(principal);
      const mayShow = allowed && ((event: object) => allowed(typeOf(event)));
      const stream: SseStream<object> = new SseStream<object>({
        response: reply.raw,
        subscription,
        frames,
        scheduler,
        // Headers set so far (CORS) plus the SSE ones.
        headers: { ...(reply.getHeaders() as Record<string, string | number | string[]>), ...SSE_HEADERS },
        helloFrame,
        firstFrame,
        pingFrame,
        pingIntervalMs,
        maxBacklog: bufferSize,
        maxBacklogBytes: backlogBytes,
        mayShow,
        expiresAt: principal.expiresAt,
        onEnd: (reason: StreamEndReason, error?: unknown) => {
          open.delete(stream);
          watches.get(scope)?.remove(stream);
          release(slot);
          const fields = { stream: scope, token: label, client, reason, delivered: subscription.delivered };
          if (reason === 'slow-client') logger.warn(fields, 'monitor client disconnected: too slow to keep up');
          else if (reason === 'write-error') logger.warn({ ...fields, err: error }, 'monitor stream failed');
          else if (reason === 'token-expired') logger.info(fields, 'monitor stream ended: token expired');
          else logger.debug(fields, 'monitor stream ended');
        },
      });
      open.add(stream);
      watches.get(scope)?.add(stream);
      logger.debug({ stream: scope, token: label, client }, 'monitor stream opened');
      stream.start();
      return reply;
    });
  }

  for (const scope of ['ingest', 'storage'] as const) {
    const answer = options.streams[scope]?.state;
    const service = services.get(scope);
    if (answer === undefined || service === undefined) continue;
    app.get(`/${scope}/state`, async (request: FastifyRequest, reply: FastifyReply) => {
      let auth: AuthResult;
      try {
        auth = await authenticate(request.raw, scope);
      } catch (error) {
        logger.error({ stream: scope, err: error }, 'monitor state refused: authentication failed');
        return reply.code(503).header('retry-after', '5').send({ error: 'authentication unavailable' });
      }
      if (!auth.ok) {
        if (auth.status === 401) reply.header('www-authenticate', 'Bearer realm="tidings"');
        return reply.code(auth.status).send({ error: auth.message });
      }
      if (closing) return reply.code(503).send({ error: 'gateway is shutting down' });
      const allowed = auth.principal.attributes === undefined ? undefined : filterOf(auth.principal);
      try {
        const body = await answer(service, allowed);
        return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
      } catch (error) {
        logger.error({ stream: scope, err: error }, 'monitor state failed');
        return reply.code(503).header('retry-after', '5').send({ error: 'event service unavailable' });
      }
    });
  }

  return {
    get openStreams(): number {
      return open.size;
    },

    async listen(listenOptions: ListenOptions = {}): Promise<string> {
      // From startup, not from the first client: readiness and outages are known with no client connected.
      for (const watch of watches.values()) watch.start();
      await app.listen({ port: listenOptions.port ?? 0, host: listenOptions.host ?? '127.0.0.1' });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      logger.info({ url }, 'monitor gateway listening');
      return url;
    },

    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        for (const watch of watches.values()) watch.stop();
        for (const stream of [...open]) stream.close();
        // Only the windows the gateway made: the services themselves belong to their owner.
        for (const [scope, service] of services) if (service !== options.streams[scope]?.service) await service.close();
        await app.close();
        logger.info({}, 'monitor gateway closed');
      })();
      return closed;
    },
  };
}
