import type { Codec, TraceContextDrop } from '../../core/codec.js';
import type { BackendStatus, EventService, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../../core/logger.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { resolveSubscribeOptions } from '../../core/subscription.js';
import { ThrottledWarnings } from '../../core/throttled-warnings.js';
import {
  ConnectionError,
  PublishError,
  ReplayUnsupportedError,
  ServiceClosedError,
  TidingsError,
} from '../../errors.js';
import { rememberTrace } from '../../observability/event-trace.js';
import {
  Instrumentation,
  type PublishTrace,
  type TelemetryCounts,
  type TelemetryOptions,
} from '../../observability/instrumentation.js';
import { checkTraceContext } from '../../observability/trace-context.js';
import { BatchPublisher } from './batch-publisher.js';
import { connectionFailure, scrubbed } from './connection-failure.js';
import { parseRedisAddress, redact } from './redis-address.js';
import {
  openPublisher,
  openSubscriber,
  type PublisherConnection,
  type SubscriberConnection,
} from './redis-connection.js';
import { WaitList } from './wait-list.js';

/** Options of {@link createRedisEventService}. */
export interface RedisEventServiceOptions<T> extends TelemetryOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. */
  redisAddress: string;
  /** The pub/sub channel; every service on it sees every event. */
  redisChannel: string;
  /** Turns events into message text and back; `decode` validates what arrives. */
  codec: Codec<T>;
  /** @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** Names an event's type, for span attributes and logs. */
  eventType?: ((event: T) => string | undefined) | undefined;
  /**
   * How long a publish may wait for the connection to Redis, and for Redis'
   * answer, before it counts as failed. Publishes sent and unanswered fail
   * together once Redis has answered none of them for this long (a hung
   * server or connection, which is then reopened); a long burst Redis is
   * still working through keeps answering and does not trip it.
   * @default 1000
   */
  publishTimeoutMs?: number;
  /**
   * Publishes allowed to wait while Redis is unreachable; beyond that they fail
   * at once, so an outage never grows memory.
   * @default 10000
   */
  maxPendingWhileDown?: number;
  /**
   * How long `subscribe()` waits for Redis to confirm SUBSCRIBE.
   * @default 5000
   */
  subscribeTimeoutMs?: number;
  /**
   * How long the subscriber connection may stay silent before it is asked
   * for a PING; when that gets no answer within the same time, the
   * connection counts as dead (a hung server, a network that drops packets
   * without closing): it is reopened and every subscription gets a
   * `reconnect` gap. 0 turns the check off.
   * @default 3000 (go-redis' PubSub health check interval)
   */
  heartbeatMs?: number;
}

/** An {@link EventService} over Redis pub/sub, with its counters. */
export interface RedisEventService<T> extends EventService<T> {
  /** The channel this service publishes to and listens on. */
  readonly channel: string;
  /** What this service counted (the same numbers its metrics report). */
  readonly stats: Readonly<TelemetryCounts>;
  /**
   * While anyone subscribes or watches ({@link onStatus}): `connecting` until
   * Redis confirmed the channel subscription, `ready` while subscribed, `down`
   * (with the cause, never the address) from losing the subscriber connection
   * until subscribed again. With neither, the publisher connection's state.
   */
  readonly status: BackendStatus;
  /** See {@link EventService.onStatus}: watching keeps the channel subscribed, as a subscriber would. */
  onStatus(listener: (status: BackendStatus) => void): () => void;
}

const FAILURE_LOG_INTERVAL_MS = 1_000;

/** A publish under way: its trace, its message, and for `publishConfirmed` who waits for the answer. */
interface Outgoing {
  readonly trace: PublishTrace;
  readonly text: string;
  readonly confirm?: { resolve(receivers: number): void; reject(error: unknown): void } | undefined;
}

class RedisEventServiceImpl<T> implements RedisEventService<T> {
  readonly channel: string;
  #codec: Codec<T>;
  #logger: Logger;
  #address: string;
  #connection: ReturnType<typeof parseRedisAddress>;
  #publishTimeoutMs: number;
  #maxPendingWhileDown: number;
  #subscribeTimeoutMs: number;
  #heartbeatMs: number;
  /** Checks the subscriber connection's liveness while it exists. */
  #heartbeat: NodeJS.Timeout | undefined;
  /** Replies read on the subscriber connection (messages and PONGs), and their number at the last check. */
  #heard = 0;
  #heardAtCheck = 0;
  /** A PING is out and unanswered. */
  #pinging = false;
  #fanOut: FanOut<T>;
  #telemetry: Instrumentation;
  #eventType: ((event: T) => string | undefined) | undefined;
  /** Opened by the first publish: a service that only subscribes (`tidings tail`) holds no publishing connection. */
  #publishing: { connection: PublisherConnection; batches: BatchPublisher<Outgoing> } | undefined;
  #subscriber: SubscriberConnection | undefined;
  /** Redis has confirmed our SUBSCRIBE on the current subscriber connection. */
  #subscribed = false;
  /** `subscribe()` calls waiting for that confirmation. */
  #joining = 0;
  /** SUBSCRIBE/UNSUBSCRIBE run one at a time, each deciding from the state at its turn. */
  #reconcileChain: Promise<void> = Promise.resolve();
  /** The subscriber connection was lost and has not been subscribed again. */
  #lost = false;
  /** Publishes waiting for the publisher to be ready. */
  #waitingForPublisher = new WaitList();
  /** `publishConfirmed()` calls waiting for Redis' answer. */
  #waitingForAnswer = new WaitList();
  /** `subscribe()` calls waiting for Redis to confirm SUBSCRIBE. */
  #waitingForSubscribe = new WaitList();
  #closed = false;
  /** Who hears status changes; watchers count as demand for the subscription. */
  #statusListeners: StatusListeners;
  #watchers = 0;
  /** Why the subscriber connection is down; undefined unless it failed and has not subscribed since. */
  #subscriberDown: string | undefined;
  /** Why the publisher connection is down; undefined unless it failed and has not been ready since. */
  #publisherDown: string | undefined;
  /**
   * The subscription was lost while subscriptions were live. Their gap is
   * reported when Redis has confirmed the channel again, not at the loss: that
   * is when re-fetched state is newer than anything still to come, and a
   * consumer polling `takeGap()` during the outage would re-fetch too early.
   */
  #gapOwed = false;
  /** Invalid messages come from whoever can publish on the channel: logged a few per interval, the rest counted. */
  #invalidWarnings: ThrottledWarnings;
  /** Malformed trace contexts, like invalid messages, come from outside: throttled too. */
  #traceWarnings: ThrottledWarnings;
  /** Why each connection last failed, until it is ready again: the cause a timeout reports. */
  #publisherFailure: unknown;
  #subscriberFailure: unknown;
  #failuresSinceLog = 0;
  #lastFailureLog = 0;

  constructor(options: RedisEventServiceOptions<T>) {
    if (typeof options.redisChannel !== 'string' || options.redisChannel === '') {
      throw new TypeError('options.redisChannel must be a non-empty string');
    }
    if (typeof options.codec?.encode !== 'function' || typeof options.codec.decode !== 'function') {
      throw new TypeError('options.codec must have encode() and decode()');
    }
    this.#connection = parseRedisAddress(options.redisAddress);
    this.#address = redact(options.redisAddress);
    this.channel = options.redisChannel;
    this.#codec = options.codec;
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.#invalidWarnings = new ThrottledWarnings(this.#logger, {
      fields: { channel: this.channel },
      summary:
        'skipped more messages on the channel that are not valid events: counted by reason, not logged one by one',
    });
    this.#traceWarnings = new ThrottledWarnings(this.#logger, {
      fields: { channel: this.channel },
      summary: 'dropped more malformed trace context fields: counted by field, not logged one by one',
    });
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 1_000;
    this.#maxPendingWhileDown = options.maxPendingWhileDown ?? 10_000;
    this.#subscribeTimeoutMs = options.subscribeTimeoutMs ?? 5_000;
    this.#heartbeatMs = options.heartbeatMs ?? 3_000;
    this.#eventType = options.eventType;
    this.#telemetry = new Instrumentation('redis', this.channel, options);
    this.#statusListeners = new StatusListeners('connecting', (error) =>
      this.#logger.warn({ channel: this.channel, err: error }, 'a status listener threw; ignored'),
    );
    this.#fanOut = new FanOut<T>(
      this.#telemetry.fanOutObserver((live) => {
        if (live === 0) this.#reconcileInBackground();
      }),
    );
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
    if (this.#wantsSubscription()) {
      if (this.#subscribed) return READY;
      if (this.#subscriberDown !== undefined) return { state: 'down', reason: this.#subscriberDown };
      return { state: 'connecting', reason: 'subscribing to the Redis channel' };
    }
    const publisher = this.#publishing?.connection;
    if (publisher === undefined)
      return { state: 'connecting', reason: 'not connected: nothing published or subscribed yet' };
    if (publisher.status === 'ready') return READY;
    if (this.#publisherDown !== undefined) return { state: 'down', reason: this.#publisherDown };
    return { state: 'connecting', reason: 'connecting to Redis' };
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    if (this.#closed) return () => {};
    // Counted before it is added: others hear the change watching causes, the new listener does not.
    this.#watchers++;
    this.#statusChanged();
    const remove = this.#statusListeners.add(listener);
    this.#reconcileInBackground();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      remove();
      this.#watchers--;
      this.#statusChanged();
      this.#reconcileInBackground();
    };
  }

  publish(event: T): void {
    if (this.#closed) {
      this.#logger.warn({ channel: this.channel }, 'publish after close ignored: the event was not sent');
      return;
    }
    const outgoing = this.#begin(event);
    if (outgoing !== undefined) this.#transmit(outgoing);
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    // Waiting for the connection and for Redis' answer are each bounded (the answer from Redis' last answer,
    // not from this call, so the end of a long burst does not time out).
    return this.#waitingForAnswer.untilAnswered<number>((answer) => {
      const outgoing = this.#begin(event, answer);
      if (outgoing !== undefined) this.#transmit(outgoing);
    });
  }

  async subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) throw new ServiceClosedError();
    resolveSubscribeOptions(options);
    if (options?.from !== undefined) throw new ReplayUnsupportedError('Redis pub/sub');
    options?.signal?.throwIfAborted();
    this.#joining++;
    try {
      await this.#joined(options?.signal);
      if (this.#closed) throw new ServiceClosedError();
      return this.#fanOut.open(options);
    } finally {
      this.#joining--;
      // A failed or aborted join may leave us subscribed with nobody listening.
      if (this.#fanOut.size === 0 && this.#joining === 0) this.#reconcileInBackground();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#publishing?.batches.flush(); // what was published before close goes out before QUIT
    this.#waitingForPublisher.settleAll(new ServiceClosedError());
    this.#waitingForSubscribe.settleAll(new ServiceClosedError());
    this.#waitingForAnswer.settleAll(new ServiceClosedError());
    this.#fanOut.endAll();
    this.#telemetry.close();
    this.#statusListeners.close();
    clearInterval(this.#heartbeat);
    this.#invalidWarnings.flush();
    this.#traceWarnings.flush();
    const connections: (PublisherConnection | SubscriberConnection)[] = [];
    if (this.#publishing) connections.push(this.#publishing.connection);
    if (this.#subscriber) connections.push(this.#subscriber);
    await Promise.all(connections.map(shutDown));
  }

  /**
   * Opens the publish span and encodes the event (with the span's trace
   * context). If encoding fails, ends the span, reports the failure (to
   * `confirm` when given) and returns nothing.
   */
  #begin(event: T, confirm?: Outgoing['confirm']): Outgoing | undefined {
    const trace = this.#telemetry.startPublish(this.#eventType?.(event));
    try {
      const text = this.#codec.encode(event, this.#telemetry.carrierOf(trace));
      this.#telemetry.setBodySize(trace, text);
      return { trace, text, confirm };
    } catch (cause) {
      this.#fail({ trace, text: '', confirm }, new PublishError('event could not be encoded', { cause }));
      return undefined;
    }
  }

  /** The publishing connection and its batcher, opened on first use. */
  #publisher(): { connection: PublisherConnection; batches: BatchPublisher<Outgoing> } {
    if (this.#publishing) return this.#publishing;
    const connection = openPublisher(this.#connection);
    connection.on('error', (error: Error) => {
      this.#publisherFailure = error;
      this.#noteFailure('Redis publisher connection error', error);
    });
    connection.on('ready', () => {
      this.#publisherFailure = undefined;
      this.#waitingForPublisher.settleAll();
    });
    connection.on('error', this.#onPublisherError);
    connection.on('close', this.#onPublisherClosed);
    connection.on('ready', this.#onPublisherReady);
    const batches = new BatchPublisher(connection, this.channel, this.#answered, {
      onScriptsRefused: (error) =>
        this.#logger.warn(
          { channel: this.channel, address: this.#address, err: error.message },
          'Redis refused the batch publish script; publishing with one PUBLISH per event from now on',
        ),
      answerTimeoutMs: this.#publishTimeoutMs,
      onNoAnswer: (unanswered) => {
        this.#logger.warn(
          { channel: this.channel, address: this.#address, unanswered, timeoutMs: this.#publishTimeoutMs },
          'Redis answered no publish within the timeout; the unanswered publishes count as failed, and the connection is reopened',
        );
        if (!this.#closed) connection.disconnect(true);
        return new PublishError(
          `Redis at ${this.#address} did not answer the publish within ${this.#publishTimeoutMs} ms`,
        );
      },
    });
    // What was sent on a connection that closed gets no answer: it fails rather than being sent twice.
    connection.on('close', () =>
      batches.failUnanswered(
        new PublishError(`the connection to Redis at ${this.#address} closed before Redis answered the publish`),
      ),
    );
    this.#publishing = { connection, batches };
    return this.#publishing;
  }

  /** Into this turn's batch now, or once the publisher is ready (bounded in time and number). */
  #transmit(outgoing: Outgoing): void {
    const { connection, batches } = this.#publisher();
    if (connection.status === 'ready') {
      batches.add(outgoing);
      return;
    }
    if (this.#waitingForPublisher.size >= this.#maxPendingWhileDown) {
      this.#fail(
        outgoing,
        this.#failure(
          PublishError,
          `Redis at ${this.#address} is not connected (${connection.status}) and ${this.#waitingForPublisher.size} publishes already wait`,
          this.#publisherFailure,
        ),
      );
      return;
    }
    this.#waitingForPublisher
      .park(this.#publishTimeoutMs, () =>
        this.#failure(
          PublishError,
          `Redis at ${this.#address} not connected within ${this.#publishTimeoutMs} ms`,
          this.#publisherFailure,
        ),
      )
      .promise.then(
        () => batches.add(outgoing),
        (error: unknown) => this.#fail(outgoing, error),
      );
  }

  /** Ends the spans of a batch Redis answered, records its duration, and tells who waits. */
  #answered = (batch: readonly Outgoing[], outcome: readonly number[] | Error, startedAt: number): void => {
    if (outcome instanceof Error) {
      const error =
        outcome instanceof TidingsError
          ? outcome
          : this.#failure(PublishError, `Redis at ${this.#address} did not accept the publish`, outcome);
      for (const outgoing of batch) this.#fail(outgoing, error);
      return;
    }
    this.#telemetry.publishAnswered(startedAt);
    for (let i = 0; i < batch.length; i++) {
      const outgoing = batch[i] as Outgoing;
      this.#telemetry.endPublish(outgoing.trace);
      outgoing.confirm?.resolve(outcome[i] ?? 0);
    }
  };

  /** Ends a failed publish's span, counts it, and reports it to its caller or the log. */
  #fail(outgoing: Outgoing, error: unknown): void {
    this.#telemetry.endPublish(outgoing.trace, error);
    if (outgoing.confirm) outgoing.confirm.reject(error);
    else this.#noteFailure('publish failed; the event was dropped', error);
  }

  /** Waits until Redis confirmed the channel subscription, within the subscribe timeout. */
  #joined(signal: AbortSignal | undefined): Promise<void> {
    const reconciled = this.#reconcile();
    if (this.#subscribed && !this.#lost) return reconciled;
    const { promise, settle } = this.#waitingForSubscribe.park(
      this.#subscribeTimeoutMs,
      () =>
        this.#failure(
          ConnectionError,
          `Redis at ${this.#address} did not confirm SUBSCRIBE ${this.channel} within ${this.#subscribeTimeoutMs} ms`,
          this.#subscriberFailure,
        ),
      signal,
    );
    reconciled.then(
      () => settle(),
      (cause: unknown) =>
        settle(this.#failure(ConnectionError, `SUBSCRIBE ${this.channel} failed at ${this.#address}`, cause)),
    );
    return promise;
  }

  /**
   * Brings the Redis subscription in line with demand: SUBSCRIBE when someone
   * listens or is joining, UNSUBSCRIBE when nobody does. Steps are serialised,
   * so a subscribe racing the last close always ends subscribed.
   */
  #reconcile(): Promise<void> {
    const step = this.#reconcileChain.then(() => this.#reconcileOnce());
    this.#reconcileChain = step.catch(() => {});
    return step;
  }

  #reconcileInBackground(): void {
    this.#reconcile().catch((error: unknown) => {
      // close() quits the connection under the UNSUBSCRIBE its last subscription caused: nothing failed.
      if (this.#closed) return;
      this.#logger.warn(
        { channel: this.channel, err: error },
        'could not update the Redis subscription; will retry on the next change or reconnect',
      );
    });
  }

  async #reconcileOnce(): Promise<void> {
    const wanted = this.#wantsSubscription();
    if (wanted === this.#subscribed) return;
    if (wanted) {
      await this.#subscriberConnection().subscribe(this.channel);
      this.#markSubscribed();
      this.#logger.debug({ channel: this.channel }, 'subscribed to Redis channel');
    } else if (this.#subscriber) {
      await this.#subscriber.unsubscribe(this.channel);
      this.#subscribed = false;
      this.#statusChanged();
      this.#logger.debug({ channel: this.channel }, 'unsubscribed from Redis channel: no subscribers left');
    }
  }

  /** Someone listens, is joining, or watches the status. */
  #wantsSubscription(): boolean {
    return !this.#closed && (this.#fanOut.size > 0 || this.#joining > 0 || this.#watchers > 0);
  }

  /**
   * Redis confirmed the channel (or a message on it proved it): events flow
   * again, so this is the moment to report what the outage cost.
   */
  #markSubscribed(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#subscriberDown = undefined;
    if (this.#gapOwed) {
      this.#gapOwed = false;
      this.#fanOut.reportGap('reconnect');
    }
    this.#statusChanged();
  }

  #statusChanged(): void {
    this.#statusListeners.update(this.status);
  }

  #onSubscriberError = (error: Error): void => {
    // While subscribed, an error is followed by 'close', which says the rest.
    if (!this.#closed && !this.#subscribed) this.#subscriberDown = `Redis unreachable (${failureCause(error)})`;
    this.#statusChanged();
  };

  #onPublisherError = (error: Error): void => {
    if (!this.#closed && this.#publishing?.connection.status !== 'ready') {
      this.#publisherDown = `Redis unreachable (${failureCause(error)})`;
    }
    this.#statusChanged();
  };

  #onPublisherClosed = (): void => {
    if (this.#closed) return;
    this.#publisherDown ??= 'Redis publisher connection lost';
    this.#statusChanged();
  };

  #onPublisherReady = (): void => {
    this.#publisherDown = undefined;
    this.#statusChanged();
  };

  #subscriberConnection(): SubscriberConnection {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = openSubscriber(this.#connection);
    subscriber.on('message', this.#onMessage);
    subscriber.on('error', (error: Error) => {
      this.#subscriberFailure = error;
      this.#noteFailure('subscriber connection error', error);
    });
    subscriber.on('error', this.#onSubscriberError);
    subscriber.on('close', this.#onSubscriberLost);
    subscriber.on('ready', this.#onSubscriberReady);
    this.#subscriber = subscriber;
    if (this.#heartbeatMs > 0) {
      this.#heartbeat = setInterval(this.#checkSubscriber, this.#heartbeatMs);
      this.#heartbeat.unref(); // never what keeps a process alive
    }
    return subscriber;
  }

  /**
   * Runs every `heartbeatMs`: a connection that read nothing since the last
   * check is sent a PING; one that then still read nothing, PONG included,
   * is dropped, which reopens it and reports the gap.
   */
  #checkSubscriber = (): void => {
    const subscriber = this.#subscriber;
    if (subscriber?.status !== 'ready') {
      this.#pinging = false;
      return;
    }
    if (this.#heard !== this.#heardAtCheck) {
      this.#heardAtCheck = this.#heard;
      return;
    }
    if (this.#pinging) {
      this.#pinging = false;
      this.#logger.warn(
        { channel: this.channel, address: this.#address, silentMs: 2 * this.#heartbeatMs },
        'Redis subscriber connection answered nothing, not even PING; reopening it',
      );
      subscriber.disconnect(true);
      return;
    }
    this.#pinging = true;
    subscriber.ping().then(
      () => {
        this.#pinging = false;
        this.#heard++;
      },
      () => {}, // the connection failed: its close handler reports the gap
    );
  };

  #onMessage = (channel: string, text: string): void => {
    this.#heard++;
    if (channel !== this.channel) return;
    // Read in the same chunk as SUBSCRIBE's confirmation, ahead of the promise that reports it:
    // the gap and the status must still come before this event.
    this.#markSubscribed();
    const result = this.#codec.decode(text);
    if (result.ok) {
      const { event } = result;
      let trace = result.trace;
      if (trace !== undefined || result.traceDropped !== undefined) {
        // Checked here too, whatever the codec: only a well-formed context reaches spans and browsers.
        const checked = checkTraceContext(trace);
        trace = checked.trace;
        const dropped = result.traceDropped ?? checked.dropped;
        if (dropped !== undefined) this.#traceDropped(dropped, this.#eventType?.(event));
      }
      rememberTrace(event, trace);
      this.#telemetry.received(trace, this.#eventType?.(event), text.length, () => this.#fanOut.deliver(event));
      return;
    }
    const { error } = result;
    this.#telemetry.invalid(error.reason);
    this.#invalidWarnings.warn(
      error.reason,
      { channel, reason: error.reason, path: error.path, eventType: error.eventType, error: error.message },
      'skipped a message on the channel that is not a valid event',
    );
  };

  #traceDropped(field: TraceContextDrop, eventType: string | undefined): void {
    this.#telemetry.traceContextDropped(field);
    this.#traceWarnings.warn(
      field,
      { channel: this.channel, field, eventType },
      'dropped a malformed trace context field of a message; the event was delivered without it',
    );
  }

  #onSubscriberLost = (): void => {
    if (this.#closed) return;
    this.#subscribed = false;
    this.#subscriberDown ??= 'Redis subscriber connection lost';
    this.#statusChanged();
    if (this.#lost) return;
    this.#lost = true;
    // Whatever is published until we are subscribed again never reaches us: the live
    // subscriptions hear so, after everything already buffered, once we are.
    if (this.#fanOut.size > 0) this.#gapOwed = true;
    this.#logger.warn(
      { channel: this.channel, subscriptions: this.#fanOut.size },
      'Redis subscriber connection lost; reconnecting, and subscribers will be told they may have missed events',
    );
  };

  #onSubscriberReady = (): void => {
    this.#subscriberFailure = undefined;
    if (!this.#lost || this.#closed) return;
    this.#lost = false;
    this.#telemetry.reconnected();
    this.#logger.info({ channel: this.channel }, 'Redis subscriber connection back; resubscribing');
    this.#reconcileInBackground();
  };

  /**
   * An error whose message ends with why Redis could not be used (refused,
   * host not found, wrong password: what a person at a terminal needs to
   * see last), keeping that reason, scrubbed of the command ioredis attaches, as its `cause`.
   */
  #failure<E extends PublishError | ConnectionError>(
    kind: new (message: string, options?: { cause?: unknown }) => E,
    what: string,
    cause: unknown,
  ): E {
    if (cause === undefined) return new kind(what);
    return new kind(`${what}: ${connectionFailure(cause)}`, { cause: scrubbed(cause) });
  }

  /** Logs a failure, at most once a second, with the number of failures since the last line. */
  #noteFailure(what: string, error: unknown): void {
    this.#failuresSinceLog++;
    const now = Date.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#logger.warn(
      {
        channel: this.channel,
        address: this.#address,
        err: connectionFailure(error),
        failures: this.#failuresSinceLog,
      },
      what,
    );
    this.#lastFailureLog = now;
    this.#failuresSinceLog = 0;
  }
}

/** What a connection failure says without its address: the error code (ECONNREFUSED, WRONGPASS, …) or its name. */
function failureCause(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  const word = /^[A-Z][A-Z0-9_]+\b/.exec(error.message)?.[0];
  return word ?? error.name;
}

/** QUIT politely when connected (bounded), then drop the socket and stop reconnecting. */
async function shutDown(connection: PublisherConnection | SubscriberConnection): Promise<void> {
  if (connection.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      connection.quit().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 500);
      }),
    ]);
    clearTimeout(timer);
  }
  connection.disconnect();
}

/**
 * An event service over Redis pub/sub: one publishing and one subscriber
 * connection per service, whatever the number of subscriptions; local fan-out
 * through each subscription's bounded buffer. Each connection is opened when
 * first needed: a service that only subscribes never opens the publisher.
 *
 * When Redis cannot be used, `subscribe()`'s {@link ConnectionError} and
 * `publishConfirmed()`'s {@link PublishError} end their message with why
 * (connection refused, host not found, authentication failed). No error or
 * log line carries the password; logged values are capped (see
 * {@link boundedLogger}), and invalid messages are logged a few per second,
 * the rest in a summary with counts per reason.
 *
 * Every message read from the channel is decoded (and validated) by `codec`;
 * one that does not decode is logged, counted in `stats.invalid` (and the `tidings.invalid_messages` metric) and skipped.
 * When the subscriber connection drops, the service resubscribes with
 * backoff, and every live subscription gets a `reconnect` gap once Redis has
 * confirmed the channel again; `status` is `down` meanwhile.
 *
 * @throws {ConfigError} when `redisAddress` is malformed (the message names the bad part).
 * @throws {TypeError} when `redisChannel` or `codec` is missing.
 * @example
 * ```ts
 * const events = createRedisEventService({
 *   redisAddress: 'redis://127.0.0.1:6379/0',
 *   redisChannel: 'enduro-ingest-events',
 *   codec: ingestCodec,
 * });
 * ```
 */
export function createRedisEventService<T>(options: RedisEventServiceOptions<T>): RedisEventService<T> {
  return new RedisEventServiceImpl<T>(options);
}
