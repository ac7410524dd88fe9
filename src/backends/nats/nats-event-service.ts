import {
  connect,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from '@nats-io/transport-node';
import type { Codec, TraceCarrier, TraceContextDrop } from '../../core/codec.js';
import type { BackendStatus, EventService, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, capText, type Logger, silentLogger } from '../../core/logger.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { resolveSubscribeOptions } from '../../core/subscription.js';
import { ThrottledWarnings } from '../../core/throttled-warnings.js';
import { ConnectionError, PublishError, ReplayUnsupportedError, ServiceClosedError } from '../../errors.js';
import { rememberTrace } from '../../observability/event-trace.js';
import {
  Instrumentation,
  type PublishTrace,
  type TelemetryCounts,
  type TelemetryOptions,
} from '../../observability/instrumentation.js';
import { traceFromHeaders, traceHeaders } from '../../observability/nats-trace-headers.js';
import { checkTraceContext } from '../../observability/trace-context.js';
import { checkSubject, parseNatsAddress, redactNatsAddress } from './nats-address.js';

/** Options of {@link createNatsEventService}. */
export interface NatsEventServiceOptions<T> extends TelemetryOptions {
  /**
   * `nats://[user[:password]@]host[:port]` (or `tls://`); several servers of
   * one cluster as a list or comma-separated, to fail over between them.
   */
  natsAddress: string | readonly string[];
  /** The subject every service on it publishes to and listens on: one subject, no wildcards. */
  subject: string;
  /** Turns events into message payloads and back; `decode` validates what arrives. */
  codec: Codec<T>;
  /** @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** The connection's name in the server's monitoring (`/connz`). @default "tidings <subject>" */
  connectionName?: string | undefined;
  /** Names an event's type, for span attributes and logs. */
  eventType?: ((event: T) => string | undefined) | undefined;
  /**
   * How long a publish may wait for a connection, and `publishConfirmed` for
   * the server's acknowledgement, before it fails.
   * @default 1000
   */
  publishTimeoutMs?: number;
  /**
   * Publishes allowed to wait while no server is reachable; beyond that they
   * fail at once, so an outage never grows memory.
   * @default 10000
   */
  maxPendingWhileDown?: number;
  /**
   * How long `subscribe()` waits for a connection and for the server to
   * confirm the interest.
   * @default 5000
   */
  subscribeTimeoutMs?: number;
  /**
   * The client PINGs the server this often; two unanswered PINGs count the
   * connection as stale (a hung or partitioned server), which then fails over.
   * @default 3000
   */
  heartbeatMs?: number;
}

/** An {@link EventService} over core NATS, with its counters. */
export interface NatsEventService<T> extends EventService<T> {
  /** The subject this service publishes to and listens on. */
  readonly subject: string;
  /** What this service counted (the same numbers its metrics report). */
  readonly stats: Readonly<TelemetryCounts>;
  /**
   * `connecting` until the first connection (and, while anyone subscribes or
   * watches, the server's confirmation of the interest), `ready` then, `down`
   * (with the cause, never the address) from losing the connection until the
   * client is connected and subscribed again.
   */
  readonly status: BackendStatus;
  onStatus(listener: (status: BackendStatus) => void): () => void;
}

/** A publish under way: its trace, its payload, and for `publishConfirmed` who waits for the answer. */
interface Outgoing {
  readonly trace: PublishTrace;
  readonly payload: string;
  readonly headers: MsgHdrs | undefined;
  readonly confirm?: { resolve(receivers: number): void; reject(error: unknown): void } | undefined;
  /** `performance.now()` when it was queued, for the operation-duration metric. */
  readonly startedAt: number;
  /** `Date.now()` after which a publish parked while down fails. */
  deadline: number;
}

const FAILURE_LOG_INTERVAL_MS = 1_000;
/** First connection attempts: how long to wait between them, doubling up to the cap. */
const CONNECT_RETRY_MS = 100;
const CONNECT_RETRY_CAP_MS = 2_000;
/** How long `close()` waits for what was published to reach the server. */
const CLOSE_FLUSH_MS = 500;

class NatsEventServiceImpl<T> implements NatsEventService<T> {
  readonly subject: string;
  readonly #servers: string[];
  readonly #address: string;
  readonly #codec: Codec<T>;
  readonly #logger: Logger;
  readonly #eventType: ((event: T) => string | undefined) | undefined;
  readonly #publishTimeoutMs: number;
  readonly #maxPendingWhileDown: number;
  readonly #subscribeTimeoutMs: number;
  readonly #heartbeatMs: number;
  readonly #connectionName: string;
  readonly #telemetry: Instrumentation;
  readonly #fanOut: FanOut<T>;
  readonly #statusListeners: StatusListeners;
  readonly #invalidWarnings: ThrottledWarnings;
  readonly #traceWarnings: ThrottledWarnings;

  #nc: NatsConnection | undefined;
  /** The client is connected to a server (between its `disconnect` and `reconnect` it is not). */
  #connected = false;
  /** Why the connection is down; undefined unless it failed and has not come back since. */
  #down: string | undefined;
  #lastFailure: unknown;
  #connectTimer: NodeJS.Timeout | undefined;
  /** The one NATS subscription all local subscriptions share, while anyone wants it. */
  #natsSub: NatsSubscription | undefined;
  /** The server confirmed the interest of `#natsSub` on the current connection. */
  #subscribed = false;
  /** The flush that confirms it, shared by every `subscribe()` waiting meanwhile. */
  #confirming: Promise<void> | undefined;
  #joining = 0;
  #watchers = 0;
  /** The connection was lost while subscriptions were live: they get a gap once subscribed again. */
  #gapOwed = false;
  /** Publishes waiting for a connection, oldest first (their deadlines are in the same order). */
  #parked: Outgoing[] = [];
  #parkTimer: NodeJS.Timeout | undefined;
  /** `publishConfirmed` calls of this turn, confirmed together by one flush. */
  #confirmBatch: Outgoing[] | undefined;
  /** What each waiting `subscribe()` runs when the connection or the subscription changes. */
  #joinChecks = new Set<() => void>();
  #closed = false;
  #failuresSinceLog = 0;
  #lastFailureLog = 0;

  constructor(options: NatsEventServiceOptions<T>) {
    if (typeof options.codec?.encode !== 'function' || typeof options.codec.decode !== 'function') {
      throw new TypeError('options.codec must have encode() and decode()');
    }
    this.subject = checkSubject(options.subject);
    this.#servers = parseNatsAddress(options.natsAddress);
    this.#address = redactNatsAddress(this.#servers);
    this.#codec = options.codec;
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.#eventType = options.eventType;
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 1_000;
    this.#maxPendingWhileDown = options.maxPendingWhileDown ?? 10_000;
    this.#subscribeTimeoutMs = options.subscribeTimeoutMs ?? 5_000;
    this.#heartbeatMs = options.heartbeatMs ?? 3_000;
    this.#connectionName = options.connectionName ?? `tidings ${this.subject}`;
    this.#telemetry = new Instrumentation('nats', this.subject, options);
    this.#statusListeners = new StatusListeners('connecting', (error) =>
      this.#logger.warn({ subject: this.subject, err: error }, 'a status listener threw; ignored'),
    );
    this.#invalidWarnings = new ThrottledWarnings(this.#logger, {
      fields: { subject: this.subject },
      summary:
        'skipped more messages on the subject that are not valid events: counted by reason, not logged one by one',
    });
    this.#traceWarnings = new ThrottledWarnings(this.#logger, {
      fields: { subject: this.subject },
      summary: 'dropped more malformed trace context headers: counted by field, not logged one by one',
    });
    this.#fanOut = new FanOut<T>(
      this.#telemetry.fanOutObserver((live) => {
        if (live === 0) this.#reconcile();
      }),
    );
    this.#connect(0);
  }

  get liveSubscriptions(): number {
    return this.#fanOut.size;
  }

  get stats(): Readonly<TelemetryCounts> {
    return this.#telemetry.counts;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get status(): BackendStatus {
    if (this.#closed) return CLOSED;
    if (!this.#connected) {
      if (this.#down !== undefined) return { state: 'down', reason: this.#down };
      return { state: 'connecting', reason: 'connecting to NATS' };
    }
    if (this.#wantsSubscription() && !this.#subscribed) {
      // Back from an outage but not subscribed yet: still down, as events published now may not arrive.
      if (this.#down !== undefined) return { state: 'down', reason: this.#down };
      return { state: 'connecting', reason: 'subscribing to the NATS subject' };
    }
    return READY;
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    if (this.#closed) return () => {};
    // Counted before it is added: others hear the change watching causes, the new listener does not.
    this.#watchers++;
    this.#statusChanged();
    const remove = this.#statusListeners.add(listener);
    this.#reconcile();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      remove();
      this.#watchers--;
      this.#reconcile();
      this.#statusChanged();
    };
  }

  publish(event: T): void {
    if (this.#closed) {
      this.#logger.warn({ subject: this.subject }, 'publish after close ignored: the event was not sent');
      return;
    }
    const outgoing = this.#begin(event);
    if (outgoing !== undefined) this.#transmit(outgoing);
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    return new Promise<number>((resolve, reject) => {
      const outgoing = this.#begin(event, { resolve, reject });
      if (outgoing !== undefined) this.#transmit(outgoing);
    });
  }

  async subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) throw new ServiceClosedError();
    resolveSubscribeOptions(options);
    if (options?.from !== undefined) throw new ReplayUnsupportedError('core NATS');
    options?.signal?.throwIfAborted();
    this.#joining++;
    try {
      if (!this.#subscribed) await this.#joined(options?.signal);
      if (this.#closed) throw new ServiceClosedError();
      return this.#fanOut.open(options);
    } finally {
      this.#joining--;
      if (this.#fanOut.size === 0 && this.#joining === 0) this.#reconcile();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#parkTimer);
    const closedError = new ServiceClosedError();
    for (const outgoing of this.#parked.splice(0)) this.#fail(outgoing, closedError);
    this.#recheckJoins();
    this.#fanOut.endAll();
    this.#statusListeners.close();
    this.#invalidWarnings.flush();
    this.#traceWarnings.flush();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined) {
      // What was published before close goes out first, if the server answers soon.
      if (this.#connected) await withDeadline(nc.flush(), CLOSE_FLUSH_MS).catch(() => {});
      await nc.close().catch(() => {});
    }
    // After the flush: the confirmations it answered have ended their spans.
    this.#telemetry.close();
  }

  /**
   * Opens the publish span and encodes the event; its trace context goes in
   * the headers, so the payload is exactly what the Redis wire carries for an
   * event outside any trace. If encoding fails, ends the span, reports the
   * failure and returns nothing.
   */
  #begin(event: T, confirm?: Outgoing['confirm']): Outgoing | undefined {
    const trace = this.#telemetry.startPublish(this.#eventType?.(event));
    const startedAt = performance.now();
    try {
      const payload = this.#codec.encode(event);
      this.#telemetry.setBodySize(trace, payload);
      const headers = traceHeaders(this.#telemetry.carrierOf(trace));
      return { trace, payload, headers, confirm, startedAt, deadline: 0 };
    } catch (cause) {
      const failed = { trace, payload: '', headers: undefined, confirm, startedAt, deadline: 0 };
      this.#fail(failed, new PublishError('event could not be encoded', { cause }));
      return undefined;
    }
  }

  /** To the client now, or once connected (bounded in time and number). */
  #transmit(outgoing: Outgoing): void {
    if (this.#connected && this.#nc !== undefined && this.#parked.length === 0) {
      this.#send(this.#nc, outgoing);
      return;
    }
    if (this.#parked.length >= this.#maxPendingWhileDown) {
      this.#fail(
        outgoing,
        this.#failure(
          PublishError,
          `NATS at ${this.#address} is not connected and ${this.#parked.length} publishes already wait`,
        ),
      );
      return;
    }
    outgoing.deadline = Date.now() + this.#publishTimeoutMs;
    this.#parked.push(outgoing);
    this.#parkTimer ??= setTimeout(this.#expireParked, this.#publishTimeoutMs);
  }

  /** Fails the parked publishes whose deadline passed, and waits for the next one. */
  #expireParked = (): void => {
    this.#parkTimer = undefined;
    const now = Date.now();
    while (this.#parked.length > 0 && (this.#parked[0] as Outgoing).deadline <= now) {
      const outgoing = this.#parked.shift() as Outgoing;
      this.#fail(
        outgoing,
        this.#failure(PublishError, `NATS at ${this.#address} not connected within ${this.#publishTimeoutMs} ms`),
      );
    }
    const next = this.#parked[0];
    if (next !== undefined) this.#parkTimer = setTimeout(this.#expireParked, Math.max(1, next.deadline - now));
  };

  /** Sends what was parked, in order, now that the client is connected. */
  #releaseParked(): void {
    const nc = this.#nc;
    if (nc === undefined || !this.#connected) return;
    clearTimeout(this.#parkTimer);
    this.#parkTimer = undefined;
    for (const outgoing of this.#parked.splice(0)) this.#send(nc, outgoing);
  }

  #send(nc: NatsConnection, outgoing: Outgoing): void {
    try {
      nc.publish(this.subject, outgoing.payload, outgoing.headers ? { headers: outgoing.headers } : undefined);
    } catch (cause) {
      // Over the server's max_payload, or the connection closed under us.
      this.#fail(outgoing, this.#failure(PublishError, `NATS at ${this.#address} refused the publish`, cause));
      return;
    }
    if (outgoing.confirm === undefined) {
      // Fire-and-forget: the client took it; core NATS acknowledges nothing per message.
      this.#telemetry.endPublish(outgoing.trace);
      return;
    }
    if (this.#confirmBatch === undefined) {
      this.#confirmBatch = [];
      queueMicrotask(this.#confirmTurn);
    }
    this.#confirmBatch.push(outgoing);
  }

  /**
   * One flush confirms every `publishConfirmed` of this turn: the server
   * answers PING after it has processed everything sent before it.
   */
  #confirmTurn = (): void => {
    const batch = this.#confirmBatch ?? [];
    this.#confirmBatch = undefined;
    const nc = this.#nc;
    if (nc === undefined) {
      for (const outgoing of batch) this.#fail(outgoing, new ServiceClosedError());
      return;
    }
    const startedAt = (batch[0] as Outgoing).startedAt;
    withDeadline(nc.flush(), this.#publishTimeoutMs).then(
      () => {
        this.#telemetry.publishAnswered(startedAt);
        for (const outgoing of batch) {
          this.#telemetry.endPublish(outgoing.trace);
          // Core NATS reports no receiver count: 1 says one server took it.
          outgoing.confirm?.resolve(1);
        }
      },
      (cause: unknown) => {
        const error = this.#failure(
          PublishError,
          `NATS at ${this.#address} did not acknowledge the publish within ${this.#publishTimeoutMs} ms`,
          cause,
        );
        for (const outgoing of batch) this.#fail(outgoing, error);
      },
    );
  };

  /** Ends a failed publish's span, counts it, and reports it to its caller or the log. */
  #fail(outgoing: Outgoing, error: unknown): void {
    this.#telemetry.endPublish(outgoing.trace, error);
    if (outgoing.confirm) outgoing.confirm.reject(error);
    else this.#noteFailure('publish failed; the event was dropped', error);
  }

  /** Connects (first connection only: after it, the client reconnects by itself), retrying with backoff. */
  #connect(attempt: number): void {
    if (this.#closed) return;
    connect({
      servers: this.#servers,
      name: this.#connectionName,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: this.#heartbeatMs,
      maxPingOut: 2,
      timeout: this.#subscribeTimeoutMs,
    }).then(
      (nc) => {
        if (this.#closed) {
          nc.close().catch(() => {});
          return;
        }
        this.#nc = nc;
        this.#connected = true;
        this.#down = undefined;
        this.#lastFailure = undefined;
        this.#watchStatus(nc);
        nc.closed().then((error) => this.#onClosed(nc, error ?? undefined));
        this.#reconcile();
        this.#releaseParked();
        this.#recheckJoins();
        this.#statusChanged();
      },
      (error: unknown) => {
        if (this.#closed) return;
        this.#lastFailure = error;
        this.#down = `NATS unreachable (${failureCause(error)})`;
        this.#noteFailure('could not connect to NATS; retrying', error);
        this.#statusChanged();
        const wait = Math.min(CONNECT_RETRY_CAP_MS, CONNECT_RETRY_MS * 2 ** Math.min(attempt, 10));
        this.#connectTimer = setTimeout(() => this.#connect(attempt + 1), wait);
        this.#connectTimer.unref();
      },
    );
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#closed || nc !== this.#nc) return;
      switch (status.type) {
        case 'disconnect':
          this.#onDisconnected();
          break;
        case 'reconnect':
          this.#onReconnected();
          break;
        case 'staleConnection':
          this.#logger.warn(
            { subject: this.subject, address: this.#address },
            'NATS server answered no PING; reconnecting',
          );
          break;
        case 'ldm':
          this.#logger.info({ subject: this.subject }, 'NATS server entering lame duck mode; the client will move');
          break;
        case 'slowConsumer':
          // Only iterator subscriptions have client-side pending; ours is a callback, so this is not expected.
          this.#logger.warn({ subject: this.subject, pending: status.pending }, 'NATS client reports a slow consumer');
          break;
        case 'error':
          this.#lastFailure = status.error;
          this.#noteFailure('NATS connection error', status.error);
          break;
        default:
          break;
      }
    }
  }

  #onDisconnected(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#subscribed = false;
    this.#confirming = undefined;
    this.#down = 'NATS connection lost';
    // Whatever is published until we are subscribed again never reaches us: the live
    // subscriptions hear so, after everything already buffered, once we are.
    if (this.#fanOut.size > 0) this.#gapOwed = true;
    this.#logger.warn(
      { subject: this.subject, subscriptions: this.#fanOut.size },
      'NATS connection lost; reconnecting, and subscribers will be told they may have missed events',
    );
    this.#statusChanged();
  }

  #onReconnected(): void {
    this.#connected = true;
    // With a subscription to confirm, `down` lasts until it is confirmed.
    if (!this.#wantsSubscription()) this.#down = undefined;
    this.#lastFailure = undefined;
    this.#telemetry.reconnected();
    this.#logger.info({ subject: this.subject }, 'NATS connection back');
    // The client sent our SUB again in its reconnect handshake: confirm it, then report the gap.
    this.#reconcile();
    this.#releaseParked();
    this.#recheckJoins();
    this.#statusChanged();
  }

  /** The client gave up (it never does on its own with unlimited reconnects) or we closed it. */
  #onClosed(nc: NatsConnection, error: Error | undefined): void {
    if (this.#closed || nc !== this.#nc) return;
    this.#nc = undefined;
    this.#natsSub = undefined;
    this.#onDisconnected();
    this.#down = `NATS connection closed (${failureCause(error)})`;
    this.#statusChanged();
    this.#connect(0);
  }

  /** Waits until the server confirmed the subject's interest, within the subscribe timeout. */
  #joined(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        this.#joinChecks.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal?.reason);
      const deadline = setTimeout(
        () =>
          finish(
            this.#failure(
              ConnectionError,
              `NATS at ${this.#address} did not confirm the subscription to ${this.subject} within ${this.#subscribeTimeoutMs} ms`,
            ),
          ),
        this.#subscribeTimeoutMs,
      );
      const check = (): void => {
        if (done) return;
        if (this.#closed) finish(new ServiceClosedError());
        else if (this.#subscribed) finish();
        // Not connected yet: the connection's arrival runs every check again.
        else this.#reconcile()?.then(check, check);
      };
      this.#joinChecks.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  /** Runs every waiting `subscribe()`'s check: the connection or the subscription changed. */
  #recheckJoins(): void {
    for (const check of [...this.#joinChecks]) check();
  }

  /**
   * Brings the NATS subscription in line with demand: one while anyone
   * listens, joins or watches, none otherwise. Returns the flush that
   * confirms the interest while one is under way.
   */
  #reconcile(): Promise<void> | undefined {
    const nc = this.#nc;
    if (this.#closed || nc === undefined) return undefined;
    if (!this.#wantsSubscription()) {
      if (this.#natsSub !== undefined) {
        this.#natsSub.unsubscribe();
        this.#natsSub = undefined;
        this.#subscribed = false;
        this.#confirming = undefined;
      }
      return undefined;
    }
    if (this.#natsSub === undefined) {
      this.#natsSub = nc.subscribe(this.subject, { callback: this.#onMessage });
      this.#subscribed = false;
      this.#confirming = undefined;
    }
    if (this.#subscribed || !this.#connected) return undefined;
    if (this.#confirming !== undefined) return this.#confirming;
    const sub = this.#natsSub;
    const confirming = nc.flush().then(() => {
      if (this.#natsSub === sub && this.#connected && this.#confirming === confirming) this.#markSubscribed();
    });
    this.#confirming = confirming;
    confirming.catch(() => {
      if (this.#confirming === confirming) this.#confirming = undefined;
    });
    return confirming;
  }

  #wantsSubscription(): boolean {
    return !this.#closed && (this.#fanOut.size > 0 || this.#joining > 0 || this.#watchers > 0);
  }

  /** The server has our interest (or a message proved it): the moment to report what an outage cost. */
  #markSubscribed(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#down = undefined;
    this.#confirming = undefined;
    if (this.#gapOwed) {
      this.#gapOwed = false;
      this.#fanOut.reportGap('reconnect');
    }
    this.#statusChanged();
    this.#recheckJoins();
  }

  #statusChanged(): void {
    this.#statusListeners.update(this.status);
  }

  #onMessage = (error: Error | null, msg: Msg): void => {
    if (error !== null) {
      this.#noteFailure('NATS subscription error', error);
      return;
    }
    // A message after a reconnect proves the interest: the gap comes before it.
    if (!this.#subscribed && this.#connected) this.#markSubscribed();
    const text = msg.string();
    const result = this.#codec.decode(text);
    if (!result.ok) {
      const { error: invalid } = result;
      this.#telemetry.invalid(invalid.reason);
      this.#invalidWarnings.warn(
        invalid.reason,
        {
          subject: this.subject,
          reason: invalid.reason,
          path: invalid.path,
          eventType: invalid.eventType,
          error: invalid.message,
        },
        'skipped a message on the subject that is not a valid event',
      );
      return;
    }
    const { event } = result;
    const eventType = this.#eventType?.(event);
    const trace = this.#traceOf(msg, result.trace, result.traceDropped, eventType);
    rememberTrace(event, trace);
    this.#telemetry.received(trace, eventType, msg.data.length, () => this.#fanOut.deliver(event));
  };

  /**
   * The headers' trace context; failing that, the body's (a message copied
   * byte for byte from the Redis wire carries it there). Either is checked.
   */
  #traceOf(
    msg: Msg,
    bodyTrace: TraceCarrier | undefined,
    bodyDropped: TraceContextDrop | undefined,
    eventType: string | undefined,
  ): TraceCarrier | undefined {
    const carried = msg.headers;
    let headerDropped: TraceContextDrop | undefined;
    if (carried !== undefined) {
      const fromHeaders = traceFromHeaders(carried);
      headerDropped = fromHeaders.dropped;
      if (headerDropped !== undefined) this.#traceDropped(headerDropped, eventType);
      if (fromHeaders.trace !== undefined) return fromHeaders.trace;
    }
    // The common case, an untraced message: nothing to check, nothing allocated.
    if (bodyTrace === undefined && bodyDropped === undefined) return undefined;
    const checked = checkTraceContext(bodyTrace);
    const dropped = bodyDropped ?? checked.dropped;
    if (dropped !== undefined && headerDropped === undefined) this.#traceDropped(dropped, eventType);
    return checked.trace;
  }

  #traceDropped(field: TraceContextDrop, eventType: string | undefined): void {
    this.#telemetry.traceContextDropped(field);
    this.#traceWarnings.warn(
      field,
      { subject: this.subject, field, eventType },
      'dropped a malformed trace context of a message; the event was delivered without it',
    );
  }

  #failure<E extends PublishError | ConnectionError>(
    kind: new (message: string, options?: { cause?: unknown }) => E,
    what: string,
    cause: unknown = this.#lastFailure,
  ): E {
    if (cause === undefined) return new kind(what);
    return new kind(`${what}: ${describeFailure(cause)}`, { cause: scrub(cause) });
  }

  /** Logs a failure, at most once a second, with the number of failures since the last line. */
  #noteFailure(what: string, error: unknown): void {
    this.#failuresSinceLog++;
    const now = Date.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#logger.warn(
      { subject: this.subject, address: this.#address, err: describeFailure(error), failures: this.#failuresSinceLog },
      what,
    );
    this.#lastFailureLog = now;
    this.#failuresSinceLog = 0;
  }
}

/** Rejects with a timeout error when `promise` has not settled within `ms`. */
function withDeadline<V>(promise: Promise<V>, ms: number): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A failure in words, without any address: the client's messages name no password, but stay capped. */
function describeFailure(error: unknown): string {
  const message = capText(error instanceof Error ? error.message : String(error));
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return `connection refused: nothing listens at that host and port (${message})`;
  }
  return message;
}

/** What a connection failure is called, for a status reason: an error code (its own or its cause's) or the error's name. */
function failureCause(error: unknown): string {
  if (error === undefined || error === null) return 'closed';
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 3; depth++) {
    const code = typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
    e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
  }
  return error instanceof Error ? error.name : 'error';
}

/** A copy of an error with only its name, code and message: what Tidings hands out as a `cause`. */
function scrub(error: unknown): Error {
  const copy = new Error(error instanceof Error ? error.message : String(error));
  if (error instanceof Error) copy.name = error.name;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/**
 * An event service over core NATS subjects: at-most-once, like Redis
 * pub/sub. One connection per service, shared by all its subscriptions (one
 * NATS subscription on the subject, fanned out locally through each
 * subscription's bounded buffer).
 *
 * - `subscribe()` resolves once the server has the interest (a flush after
 *   SUB). In a cluster, interest reaches the other nodes over routes a moment
 *   later: a publisher on another node may miss what it sends in that moment.
 * - `publish()` is fire-and-forget; `publishConfirmed()` resolves (with 1:
 *   core NATS reports no receiver count) once the server answered the flush
 *   sent after it, and rejects with {@link PublishError} after
 *   `publishTimeoutMs`.
 * - While no server is reachable, publishes wait (at most
 *   `maxPendingWhileDown`, each at most `publishTimeoutMs`), then fail,
 *   counted in `stats.publishFailed`.
 * - The client reconnects forever, failing over between the servers it
 *   knows; every live subscription gets a `reconnect` gap once the interest
 *   is confirmed again, and `status` is `down` meanwhile. A server that cuts
 *   the connection because this client read too slowly (its slow-consumer
 *   limit) is such a reconnect.
 * - Messages that do not decode are logged (throttled), counted in
 *   `stats.invalid` and skipped. Trace context travels in `traceparent` /
 *   `tracestate` headers; the payload is the codec's text, byte for byte what
 *   the Redis wire carries for an event outside any trace.
 * - No positions: `replay` is undefined and `subscribe({ from })` throws
 *   {@link ReplayUnsupportedError}.
 *
 * @throws {ConfigError} when `natsAddress` or `subject` is malformed.
 * @throws {TypeError} when `codec` is missing.
 * @example
 * ```ts
 * const events = createNatsEventService({
 *   natsAddress: 'nats://127.0.0.1:4222',
 *   subject: 'enduro.ingest.events',
 *   codec: ingestCodec,
 * });
 * ```
 */
export function createNatsEventService<T>(options: NatsEventServiceOptions<T>): NatsEventService<T> {
  return new NatsEventServiceImpl<T>(options);
}
