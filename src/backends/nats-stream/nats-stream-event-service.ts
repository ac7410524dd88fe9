import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import type { Codec, TraceCarrier, TraceContextDrop } from '../../core/codec.js';
import type { BackendStatus, EventService, ReplayInfo, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../../core/logger.js';
import { OLDEST, PositionFormat, positionTag } from '../../core/position.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { resolveSubscribeOptions } from '../../core/subscription.js';
import { ThrottledWarnings } from '../../core/throttled-warnings.js';
import { ConnectionError, PositionError, PublishError, ServiceClosedError } from '../../errors.js';
import { rememberTrace } from '../../observability/event-trace.js';
import {
  Instrumentation,
  type PublishTrace,
  type TelemetryCounts,
  type TelemetryOptions,
} from '../../observability/instrumentation.js';
import { traceFromHeaders, traceHeaders } from '../../observability/nats-trace-headers.js';
import { checkTraceContext } from '../../observability/trace-context.js';
import { parseNatsAddress } from '../nats/nats-address.js';
import { AcknowledgedPublisher } from './acknowledged-publisher.js';
import { isGapRecord } from './gap-header.js';
import { ReplayReader, type ReplaySource } from './replay-reader.js';
import { checkStreamName, checkSubject, ensureStream, type StreamLimits, streamNameFor } from './stream-setup.js';

/** Options of {@link createNatsStreamEventService}. */
export interface NatsStreamEventServiceOptions<T> extends TelemetryOptions {
  /**
   * `nats://[user[:password]@]host[:port]` (or `tls://`); several servers of
   * one cluster as a list or comma-separated, to fail over between them.
   */
  natsAddress: string | readonly string[];
  /** The subject events are published on; the stream captures exactly it. */
  subject: string;
  /**
   * The JetStream stream holding the subject. Created at first use, or checked
   * (subjects and limits) when it exists.
   * @default the subject with `.` and other characters stream names may not hold replaced by `_`
   */
  stream?: string | undefined;
  /** Turns events into message text and back; `decode` validates what arrives. */
  codec: Codec<T>;
  /** Most events the stream retains. @default 100000 */
  maxEvents?: number | undefined;
  /** Events older than this are dropped by the server. @default 86400000 (one day) */
  maxAgeMs?: number | undefined;
  /** Copies of the stream in a cluster (1, 3 or 5 are usual). @default 1 */
  replicas?: number | undefined;
  /**
   * How long the stream remembers a message ID: a publish retried within it
   * is stored once. At most `maxAgeMs`. @default 120000, or `maxAgeMs` when shorter
   */
  duplicateWindowMs?: number | undefined;
  /**
   * How long a publish may wait for JetStream's acknowledgement, retries
   * (with the same message ID) included, before it counts as failed.
   * @default 5000
   */
  publishTimeoutMs?: number | undefined;
  /** Publishes allowed to wait for an acknowledgement at once; beyond that they fail at once. @default 10000 */
  maxPendingPublishes?: number | undefined;
  /** How long `subscribe()` may wait for the server (connecting, creating the stream and consumer). @default 10000 */
  subscribeTimeoutMs?: number | undefined;
  /**
   * How long the shared consumer stays on the server once the last
   * subscription closed (a subscription opened meanwhile reuses it).
   * @default 5000
   */
  idleConsumerMs?: number | undefined;
  /** The client name servers show for this service's connection (`/connz`). @default "tidings <stream>" */
  connectionName?: string | undefined;
  /** @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** Names an event's type, for span attributes and logs. */
  eventType?: ((event: T) => string | undefined) | undefined;
}

/** An {@link EventService} over a JetStream stream, with its counters. */
export interface NatsStreamEventService<T> extends EventService<T> {
  readonly subject: string;
  /** The JetStream stream this service keeps its events in. */
  readonly stream: string;
  readonly replay: ReplayInfo;
  readonly stats: Readonly<TelemetryCounts>;
  readonly status: BackendStatus;
  onStatus(listener: (status: BackendStatus) => void): () => void;
}

/** How long a JetStream API request (stream and consumer management) may take. */
const API_TIMEOUT_MS = 5_000;
/** How long setting up the stream keeps retrying answers that mean "not yet". */
const SETTLE_MS = 30_000;
/** One attempt to reach a server; the service keeps trying after it. */
const CONNECT_TIMEOUT_MS = 2_000;
/** JetStream's own default: a publish retried within two minutes is stored once. */
const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** Messages the live consumer asks for at once (it asks again at a quarter left). */
const LIVE_BATCH = 1_000;
/** Pull expiry of the live consumer; its idle heartbeats, at half of it, detect a dead server. */
const LIVE_EXPIRES_MS = 4_000;
/** Replay consumers the server forgets by itself if this process dies without removing them. */
const REPLAY_INACTIVE_MS = 60_000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`options.${name} must be a positive integer, got ${v}`);
  return v;
}

/** The shared live consumer: one per service, whatever the number of subscriptions. */
interface LiveReader {
  readonly consumer: Consumer;
  readonly messages: ConsumerMessages;
}

class NatsStreamEventServiceImpl<T> implements NatsStreamEventService<T> {
  readonly subject: string;
  readonly stream: string;
  readonly replay: ReplayInfo;
  #limits: StreamLimits;
  #codec: Codec<T>;
  #logger: Logger;
  #eventType: ((event: T) => string | undefined) | undefined;
  #telemetry: Instrumentation;
  #fanOut: FanOut<T>;
  #positions: PositionFormat;
  #subscribeTimeoutMs: number;
  #connection: Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }>;
  #nc: NatsConnection | undefined;
  /** Created or checked once; retried after a failure. */
  #streamReady: Promise<void> | undefined;
  #live: LiveReader | undefined;
  /** Bumped whenever the live consumer is replaced: messages of an older one are ignored. */
  #liveGeneration = 0;
  #liveStarting: Promise<void> | undefined;
  /** `subscribe()` calls under way: they count as demand for the shared consumer. */
  #joining = 0;
  #idleConsumerMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Consumer removals in flight, which `close()` waits for (briefly). */
  #deletions = new Set<Promise<void>>();
  /** Stream sequence of the last message the live consumer handed on (or its start point minus one). */
  #liveLast = 0;
  #replays = new Set<ReplayReader<T>>();
  #parked = new Set<ReplayReader<T>>();
  #publisher: AcknowledgedPublisher;
  #connectionName: string;
  /** Cuts short the pause between two connection attempts (on close). */
  #wake: () => void = () => {};
  #closed = false;
  #connected = false;
  #down: string | undefined;
  #statusListeners: StatusListeners;
  #invalidWarnings: ThrottledWarnings;
  #traceWarnings: ThrottledWarnings;
  #failureWarnings: ThrottledWarnings;

  constructor(options: NatsStreamEventServiceOptions<T>) {
    this.subject = checkSubject(options.subject);
    this.stream = checkStreamName(options.stream ?? streamNameFor(this.subject));
    if (typeof options.codec?.encode !== 'function' || typeof options.codec.decode !== 'function') {
      throw new TypeError('options.codec must have encode() and decode()');
    }
    const servers = parseNatsAddress(options.natsAddress);
    const maxAgeMs = positiveInteger('maxAgeMs', options.maxAgeMs, 86_400_000);
    const duplicateWindowMs = positiveInteger(
      'duplicateWindowMs',
      options.duplicateWindowMs,
      Math.min(DEFAULT_DUPLICATE_WINDOW_MS, maxAgeMs),
    );
    if (duplicateWindowMs > maxAgeMs) {
      throw new TypeError('options.duplicateWindowMs may not be longer than options.maxAgeMs');
    }
    this.#limits = {
      maxEvents: positiveInteger('maxEvents', options.maxEvents, 100_000),
      maxAgeMs,
      replicas: positiveInteger('replicas', options.replicas, 1),
      duplicateWindowMs,
    };
    this.replay = Object.freeze({
      maxEvents: this.#limits.maxEvents,
      maxAgeMs: this.#limits.maxAgeMs,
      approximate: false,
    });
    this.#publisher = new AcknowledgedPublisher({
      subject: this.subject,
      stream: this.stream,
      timeoutMs: positiveInteger('publishTimeoutMs', options.publishTimeoutMs, 5_000),
      maxPending: positiveInteger('maxPendingPublishes', options.maxPendingPublishes, 10_000),
      ready: (deadline) => this.#readyToPublish(deadline),
      closed: () => this.#closed,
    });
    this.#subscribeTimeoutMs = positiveInteger('subscribeTimeoutMs', options.subscribeTimeoutMs, 10_000);
    this.#idleConsumerMs = positiveInteger('idleConsumerMs', options.idleConsumerMs, 5_000);
    this.#codec = options.codec;
    this.#connectionName = options.connectionName ?? `tidings ${this.stream}`;
    this.#eventType = options.eventType;
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    const fields = { subject: this.subject, stream: this.stream };
    this.#invalidWarnings = new ThrottledWarnings(this.#logger, {
      fields,
      summary: 'skipped more stream messages that are not valid events: counted by reason, not logged one by one',
    });
    this.#traceWarnings = new ThrottledWarnings(this.#logger, {
      fields,
      summary: 'dropped more malformed trace context fields: counted by field, not logged one by one',
    });
    this.#failureWarnings = new ThrottledWarnings(this.#logger, {
      fields,
      summary: 'more JetStream failures: counted, not logged one by one',
    });
    this.#positions = new PositionFormat(positionTag('js', this.stream), /^[1-9]\d{0,19}$/);
    this.#telemetry = new Instrumentation('nats', this.subject, options);
    this.#statusListeners = new StatusListeners('connecting', (error) =>
      this.#logger.warn({ ...fields, err: error }, 'a status listener threw; ignored'),
    );
    this.#fanOut = new FanOut<T>(
      this.#telemetry.fanOutObserver((live) => {
        this.#sweepReplays();
        this.#idleCheck(live);
      }),
    );
    this.#connection = this.#connect(servers);
    // A failure is reported to whoever needs the connection; this only keeps it from being unhandled.
    this.#connection.catch(() => {});
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
    if (this.#connected) return READY;
    if (this.#down !== undefined) return { state: 'down', reason: this.#down };
    return { state: 'connecting', reason: 'connecting to NATS' };
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    if (this.#closed) return () => {};
    return this.#statusListeners.add(listener);
  }

  /**
   * Connects, retrying with backoff until it works or the service closes.
   * (The client's own wait-on-first-connect could not be stopped by `close()`.)
   */
  async #connect(servers: string[]): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ServiceClosedError();
      try {
        const nc = await connect({
          servers,
          name: this.#connectionName,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 2_000,
          maxPingOut: 2,
          timeout: CONNECT_TIMEOUT_MS,
          // Every publish is a request; capturing a stack trace for each costs a fifth of the publishing CPU,
          // and a failure is reported with the service's own message anyway.
          noAsyncTraces: true,
        });
        if (this.#closed) {
          await nc.close();
          throw new ServiceClosedError();
        }
        this.#nc = nc;
        this.#connected = true;
        this.#down = undefined;
        this.#statusChanged();
        void this.#watchStatus(nc);
        const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: API_TIMEOUT_MS });
        return { nc, js: jetstream(nc, { timeout: API_TIMEOUT_MS }), jsm };
      } catch (error) {
        if (error instanceof ServiceClosedError) throw error;
        this.#down = `NATS unreachable (${failureCause(error)})`;
        this.#statusChanged();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#closed) return;
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.#down = 'NATS connection lost; reconnecting';
        this.#statusChanged();
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#down = undefined;
        this.#telemetry.reconnected();
        this.#replaceLive();
        this.#statusChanged();
      }
    }
  }

  #statusChanged(): void {
    this.#statusListeners.update(this.status);
  }

  publish(event: T): void {
    if (this.#closed) {
      this.#logger.warn({ subject: this.subject }, 'publish after close ignored: the event was not sent');
      return;
    }
    this.#send(event).catch((error: unknown) => this.#noteFailure('publish failed; the event was dropped', error));
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    return this.#send(event);
  }

  /**
   * Encodes, publishes with a fresh message ID, and resolves with 1 on the
   * stream's acknowledgement. Written with `then` rather than `await`: it
   * runs once per event, and every saved promise shows in throughput.
   */
  #send(event: T): Promise<number> {
    const trace = this.#telemetry.startPublish(this.#eventType?.(event));
    const carrier = this.#telemetry.carrierOf(trace);
    let text: string;
    try {
      text = this.#codec.encode(event, carrier);
    } catch (cause) {
      return this.#failed(trace, new PublishError('event could not be encoded', { cause }));
    }
    this.#telemetry.setBodySize(trace, text);
    return this.#publisher.publish(text, traceHeaders(carrier)).then(
      () => {
        this.#telemetry.endPublish(trace);
        return 1;
      },
      (error: unknown) => this.#failed(trace, error),
    );
  }

  #failed(trace: PublishTrace, error: unknown): Promise<never> {
    this.#telemetry.endPublish(trace, error);
    return Promise.reject(error);
  }

  /** What the first publish waits for: the connection and the stream check. */
  async #readyToPublish(deadline: number): Promise<JetStreamClient> {
    try {
      const { js } = await this.#within(this.#connection, Math.max(deadline - Date.now(), 1), 'NATS not connected');
      await this.#within(this.#ensureStream(), Math.max(deadline - Date.now(), 1), 'the JetStream stream not ready');
      return js;
    } catch (cause) {
      throw new PublishError(`could not publish: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  async subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) throw new ServiceClosedError();
    resolveSubscribeOptions(options);
    options?.signal?.throwIfAborted();
    const from = options?.from;
    if (from !== undefined && from !== OLDEST) this.#positions.parse(from); // garbage fails before any I/O
    this.#joining++;
    try {
      return await this.#open(options, from);
    } finally {
      this.#joining--;
      // A failed subscribe may leave the consumer with nobody to feed.
      this.#idleCheck(this.#fanOut.size);
    }
  }

  async #open(options: SubscribeOptions | undefined, from: string | undefined): Promise<Subscription<T>> {
    await this.#within(this.#ensureLive(), this.#subscribeTimeoutMs, 'the JetStream consumer was not ready');
    if (this.#closed) throw new ServiceClosedError();
    if (from === undefined) {
      const sub = this.#fanOut.open(options);
      sub.startAt(this.#liveLast > 0 ? this.#positions.format(this.#liveLast) : undefined);
      return sub;
    }
    const { jsm } = await this.#connection;
    const { state } = await this.#within(
      jsm.streams.info(this.stream),
      this.#subscribeTimeoutMs,
      'the JetStream stream did not answer',
    );
    let after: number;
    if (from === OLDEST) after = Math.max(state.first_seq, 1) - 1;
    else {
      after = Number(this.#positions.parse(from));
      if (after > Math.max(state.last_seq, this.#liveLast)) {
        throw new PositionError('ahead', 'the position is ahead of every event the stream holds');
      }
    }
    if (this.#closed) throw new ServiceClosedError();
    const sub = this.#fanOut.open(options);
    sub.startAt(from === OLDEST ? undefined : from);
    const reader = new ReplayReader(sub, after + 1, this.#replaySource);
    this.#replays.add(reader);
    reader.expired(state.first_seq);
    reader.start();
    return sub;
  }

  /** Rejects with a ConnectionError when `promise` takes longer than `ms`. */
  #within<R>(promise: Promise<R>, ms: number, what: string): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionError(`${what} within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** The stream exists as configured: created or checked once (again after a failure). */
  #ensureStream(): Promise<void> {
    this.#streamReady ??= this.#connection
      .then(({ jsm }) => this.#untilSettled(() => ensureStream(jsm, this.stream, this.subject, this.#limits)))
      .then(
        () => {},
        (error: unknown) => {
          this.#streamReady = undefined;
          throw error;
        },
      );
    return this.#streamReady;
  }

  /**
   * Runs `request` again while JetStream answers that it cannot yet (a
   * cluster electing its leaders after a restart, a request that timed out),
   * for up to {@link SETTLE_MS}; a real refusal (a ConfigError) fails at once.
   */
  async #untilSettled<R>(request: () => Promise<R>): Promise<R> {
    const deadline = Date.now() + SETTLE_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!isTransient(error) || this.#closed || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1_000)));
      }
    }
  }

  /** The stream exists and the shared live consumer runs. */
  #ensureLive(): Promise<void> {
    if (this.#live !== undefined) return Promise.resolve();
    this.#liveStarting ??= this.#startLive().finally(() => {
      this.#liveStarting = undefined;
    });
    return this.#liveStarting;
  }

  async #startLive(): Promise<void> {
    const { jsm } = await this.#connection;
    await this.#ensureStream();
    const info = await this.#untilSettled(() => jsm.streams.info(this.stream));
    // Anchored at the stream's end now: whatever is published from here on reaches the consumer,
    // however long creating it takes, so subscriptions are live as soon as this resolves.
    this.#liveLast = info.state.last_seq;
    const generation = this.#liveGeneration;
    this.#live = await this.#untilSettled(() => this.#openLive(generation));
  }

  /** An ordered consumer from just after {@link #liveLast}, feeding the fan-out while `generation` is current. */
  async #openLive(generation: number): Promise<LiveReader> {
    const { js } = await this.#connection;
    const consumer = await js.consumers.get(this.stream, { opt_start_seq: this.#liveLast + 1 });
    if (this.#closed || generation !== this.#liveGeneration) {
      void consumer.delete().catch(() => {});
      throw new ServiceClosedError();
    }
    const messages = await consumer.consume({
      max_messages: LIVE_BATCH,
      expires: LIVE_EXPIRES_MS,
      callback: (msg) => {
        if (generation === this.#liveGeneration) this.#onLive(msg);
      },
    });
    void this.#watchLive(messages, generation);
    return { consumer, messages };
  }

  /**
   * The client recreates an ordered consumer the server says is gone, but not
   * one whose server stopped answering (a partitioned node): it keeps asking
   * that node. Missed heartbeats therefore replace the consumer, from the
   * last sequence handed on, as does every reconnect.
   */
  async #watchLive(messages: ConsumerMessages, generation: number): Promise<void> {
    for await (const note of messages.status()) {
      if (generation !== this.#liveGeneration || this.#closed) return;
      if (note.type === 'heartbeats_missed') {
        this.#logger.warn(
          { subject: this.subject, stream: this.stream, missed: note.count },
          'the JetStream consumer missed heartbeats; replacing it from the last event received',
        );
        this.#replaceLive();
        return;
      }
    }
  }

  /** Replaces the live consumer (nothing lost: the new one starts right after the last event handed on). */
  #replaceLive(): void {
    const old = this.#live;
    if (old === undefined || this.#closed) return;
    const generation = ++this.#liveGeneration;
    old.messages.stop();
    void old.consumer.delete().catch(() => {}); // its server may not answer; the server forgets it when idle
    const attempt = (tries: number): void => {
      if (this.#closed || generation !== this.#liveGeneration) return;
      this.#openLive(generation).then(
        (live) => {
          if (generation === this.#liveGeneration && !this.#closed) this.#live = live;
        },
        (error: unknown) => {
          if (this.#closed || generation !== this.#liveGeneration) return;
          this.#noteFailure('could not recreate the JetStream consumer; retrying', error);
          setTimeout(() => attempt(tries + 1), Math.min(100 * 2 ** tries, 2_000)).unref();
        },
      );
    };
    attempt(0);
  }

  #onLive = (msg: JsMsg): void => {
    if (this.#closed) return;
    const seq = msg.seq;
    if (seq <= this.#liveLast) return;
    if (seq > this.#liveLast + 1) {
      // The ordered consumer never skips what the stream holds: these expired before it read them.
      const lost = seq - this.#liveLast - 1;
      for (const sub of this.#fanOut.subscriptions) if (!sub.replaying) sub.reportGap('expired', lost);
    }
    // A bridge's gap record: every live subscription hears of it here; a replaying one meets it in its own reading.
    const decoded = isGapRecord(msg) ? this.#liveGap() : this.#decode(msg);
    if (decoded !== undefined) {
      const { event, trace } = decoded;
      const position = this.#positions.format(seq);
      this.#telemetry.received(trace, this.#eventType?.(event), msg.data.length, () =>
        this.#fanOut.deliver(event, position),
      );
    }
    this.#liveLast = seq;
    if (this.#parked.size > 0) {
      const parked = [...this.#parked];
      this.#parked.clear();
      for (const reader of parked) reader.refill();
    }
  };

  #liveGap(): undefined {
    for (const sub of this.#fanOut.subscriptions) if (!sub.replaying) sub.reportGap('reconnect');
    return undefined;
  }

  #decode(msg: JsMsg): { event: T; trace: TraceCarrier | undefined } | undefined {
    const text = msg.string();
    const result = this.#codec.decode(text);
    if (!result.ok) {
      const { error } = result;
      this.#telemetry.invalid(error.reason);
      this.#invalidWarnings.warn(
        error.reason,
        { seq: msg.seq, reason: error.reason, path: error.path, eventType: error.eventType, error: error.message },
        'skipped a stream message that is not a valid event',
      );
      return undefined;
    }
    const { event } = result;
    let trace = result.trace;
    if (trace === undefined && result.traceDropped === undefined && msg.headers !== undefined) {
      // A publisher that carries the context in headers only (as the OpenTelemetry NATS propagators do).
      const carried = traceFromHeaders(msg.headers);
      trace = carried.trace;
      if (carried.dropped !== undefined) this.#traceDropped(carried.dropped, this.#eventType?.(event));
    } else if (trace !== undefined || result.traceDropped !== undefined) {
      const checked = checkTraceContext(trace);
      trace = checked.trace;
      const dropped = result.traceDropped ?? checked.dropped;
      if (dropped !== undefined) this.#traceDropped(dropped, this.#eventType?.(event));
    }
    rememberTrace(event, trace);
    return { event, trace };
  }

  #traceDropped(field: TraceContextDrop, eventType: string | undefined): void {
    this.#telemetry.traceContextDropped(field);
    this.#traceWarnings.warn(
      field,
      { field, eventType },
      'dropped a malformed trace context field of a message; the event was delivered without it',
    );
  }

  #replaySource: ReplaySource<T> = {
    liveLast: () => this.#liveLast,
    openConsumer: async (startSeq) => {
      const { js, jsm } = await this.#connection;
      const info = await jsm.consumers.add(this.stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: startSeq,
        ack_policy: AckPolicy.None,
        max_deliver: 1,
        mem_storage: true,
        num_replicas: 1,
        inactive_threshold: nanos(REPLAY_INACTIVE_MS),
      });
      return js.consumers.getConsumerFromInfo(info);
    },
    dropConsumer: (consumer) =>
      consumer.delete().then(
        () => {},
        () => {}, // gone already (server restart, inactivity): nothing left to remove
      ),
    firstSeq: async () => {
      const { jsm } = await this.#connection;
      return (await jsm.streams.info(this.stream)).state.first_seq;
    },
    decode: (msg) => this.#decode(msg)?.event,
    position: (seq) => this.#positions.format(seq),
    park: (reader) => {
      this.#parked.add(reader);
    },
    finished: (reader) => {
      this.#replays.delete(reader);
      this.#parked.delete(reader);
    },
    failed: (error) => this.#noteFailure('reading the stream for a replay failed; retrying', error),
  };

  /** With no subscription left, the shared consumer goes after {@link #idleConsumerMs}. */
  #idleCheck(live: number): void {
    if (live > 0 || this.#joining > 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    if (this.#live === undefined || this.#idleTimer !== undefined || this.#closed) return;
    this.#idleTimer = setTimeout(this.#releaseIdle, this.#idleConsumerMs);
    this.#idleTimer.unref();
  }

  #releaseIdle = (): void => {
    this.#idleTimer = undefined;
    const live = this.#live;
    if (live === undefined || this.#closed || this.#fanOut.size > 0 || this.#joining > 0) return;
    this.#liveGeneration++;
    this.#live = undefined;
    live.messages.stop();
    const deletion = live.consumer.delete().then(
      () => {},
      () => {}, // its server may be away; the server forgets an idle consumer by itself
    );
    this.#deletions.add(deletion);
    void deletion.finally(() => this.#deletions.delete(deletion));
  };

  /** Subscriptions closed while replaying give their consumers back. */
  #sweepReplays(): void {
    for (const reader of this.#replays) if (reader.sub.closed) void reader.finish();
  }

  #noteFailure(what: string, error: unknown): void {
    if (this.#closed && error instanceof ServiceClosedError) return;
    this.#failureWarnings.warn(what, { err: error instanceof Error ? error.message : String(error) }, what);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    this.#fanOut.endAll();
    this.#telemetry.close();
    this.#statusListeners.close();
    this.#invalidWarnings.flush();
    this.#traceWarnings.flush();
    this.#failureWarnings.flush();
    clearTimeout(this.#idleTimer);
    const cleanups: Promise<unknown>[] = [...this.#replays].map((reader) => reader.finish());
    cleanups.push(...this.#deletions);
    await this.#liveStarting?.catch(() => {});
    const live = this.#live;
    this.#live = undefined;
    if (live !== undefined) {
      live.messages.stop();
      cleanups.push(live.consumer.delete().catch(() => {}));
    }
    const nc = this.#nc;
    if (nc !== undefined) {
      await Promise.race([Promise.all(cleanups), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      await nc.close().catch(() => {});
    }
  }
}

/** JetStream's answers that mean "not now" rather than "no": worth asking again. */
function isTransient(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === 10008; // JetStream system temporarily unavailable
  if (!(error instanceof Error)) return false;
  return /timeout|no responders|temporarily unavailable/i.test(`${error.name} ${error.message}`);
}

/** What a connection failure says without its address: the error code (ECONNREFUSED, …) or its name. */
function failureCause(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  return error instanceof Error ? error.name : 'unknown error';
}

/**
 * An event service over a NATS JetStream stream: events are stored (by count
 * and age), so a subscription can resume after a position, and nothing is
 * lost while a subscriber's connection fails over. One connection per
 * service; one ordered consumer feeds every live subscription, and each
 * replaying subscription reads through an ephemeral consumer of its own that
 * is removed when it catches up or closes.
 *
 * Positions are stream sequences (`js.<fingerprint of the stream>:<seq>`), so
 * every service on the stream shares them. `publishConfirmed` resolves with
 * 1 on the stream's acknowledgement; every publish carries a unique message
 * ID, so one retried after a lost acknowledgement is stored once.
 *
 * @throws {ConfigError} for a subject with wildcards or an invalid stream name.
 * @throws {ConfigError} for a malformed `natsAddress`.
 * @throws {TypeError} for a missing codec or invalid limits.
 * @example
 * ```ts
 * const events = createNatsStreamEventService({
 *   natsAddress: 'nats://127.0.0.1:4222',
 *   subject: 'enduro.ingest.events',
 *   codec: ingestCodec,
 * });
 * ```
 */
export function createNatsStreamEventService<T>(options: NatsStreamEventServiceOptions<T>): NatsStreamEventService<T> {
  return new NatsStreamEventServiceImpl<T>(options);
}
