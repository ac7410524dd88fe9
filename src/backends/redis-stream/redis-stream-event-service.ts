import type { Redis } from 'ioredis';
import type { Codec, TraceContextDrop } from '../../core/codec.js';
import type { BackendStatus, EventService, ReplayInfo, SubscribeOptions, Subscription } from '../../core/contract.js';
import { FanOut } from '../../core/fan-out.js';
import { boundedLogger, type Logger, silentLogger } from '../../core/logger.js';
import { OLDEST, PositionFormat, positionTag } from '../../core/position.js';
import { CLOSED, READY, StatusListeners } from '../../core/status-listeners.js';
import { type LocalSubscription, resolveSubscribeOptions } from '../../core/subscription.js';
import { ThrottledWarnings } from '../../core/throttled-warnings.js';
import { ConnectionError, PositionError, PublishError, ServiceClosedError, TidingsError } from '../../errors.js';
import { rememberTrace } from '../../observability/event-trace.js';
import {
  Instrumentation,
  type PublishTrace,
  type TelemetryCounts,
  type TelemetryOptions,
} from '../../observability/instrumentation.js';
import { checkTraceContext } from '../../observability/trace-context.js';
import { BatchPublisher } from '../redis/batch-publisher.js';
import { connectionFailure, scrubbed } from '../redis/connection-failure.js';
import { parseRedisAddress, redact } from '../redis/redis-address.js';
import { WaitList } from '../redis/wait-list.js';
import {
  appendFallback,
  appending,
  type CommandConnection,
  openCommands,
  openReader,
  type TrimArguments,
} from './stream-connections.js';
import {
  isNoSuchKey,
  type RawEntry,
  readEntry,
  readStreamInfo,
  type StreamInfo,
  trimmedAfter,
} from './stream-entries.js';
import { canonicalId, compareIds, START_ID } from './stream-ids.js';
import { replayInto } from './stream-replay.js';

/** How much of the stream Redis keeps, hence how far back `subscribe({ from })` reaches. */
export interface StreamRetention {
  /** Entries kept at least (trimmed with `MAXLEN ~`). @default 100000 */
  maxLen?: number | undefined;
  /** Entries older than this may be trimmed (`MINID ~`, once per batch of appends). @default unbounded */
  maxAgeMs?: number | undefined;
  /**
   * Trim exactly (`MAXLEN =`) instead of in whole macro nodes: costs Redis
   * more per append. For tests that need an exact bound. @default false
   */
  exact?: boolean | undefined;
}

/** Options of {@link createRedisStreamEventService}. */
export interface RedisStreamEventServiceOptions<T> extends TelemetryOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. */
  redisAddress: string;
  /** The stream key; every service on it sees every event, and their positions are interchangeable. */
  streamKey: string;
  /** Turns events into entry text and back (the pub/sub wire text); `decode` validates what arrives. */
  codec: Codec<T>;
  /** @default a logger that logs nothing */
  logger?: Logger | undefined;
  /** Names an event's type, for span attributes and logs. */
  eventType?: ((event: T) => string | undefined) | undefined;
  /** @default { maxLen: 100000 } */
  retention?: StreamRetention | undefined;
  /** As the pub/sub backend's: how long a publish waits for the connection and for Redis' answer. @default 1000 */
  publishTimeoutMs?: number | undefined;
  /** Publishes allowed to wait while Redis is unreachable; beyond that they fail at once. @default 10000 */
  maxPendingWhileDown?: number | undefined;
  /** How long `subscribe()` waits for the reader to learn where the stream stands. @default 5000 */
  subscribeTimeoutMs?: number | undefined;
  /**
   * How long one `XREAD BLOCK` waits for entries. A read not answered within
   * this plus {@link heartbeatMs} means a hung server or connection: the
   * reader reconnects and resumes from its last ID. @default 1000
   */
  blockMs?: number | undefined;
  /** Slack beyond {@link blockMs} before a read counts as hung. @default 3000 */
  heartbeatMs?: number | undefined;
  /** Entries per `XREAD` at most. @default 1000 */
  readCount?: number | undefined;
}

/** An {@link EventService} over a Redis stream, with its counters. */
export interface RedisStreamEventService<T> extends EventService<T> {
  /** The stream this service appends to and reads. */
  readonly streamKey: string;
  /** What this service counted (the same numbers its metrics report). */
  readonly stats: Readonly<TelemetryCounts>;
  readonly replay: ReplayInfo;
  /**
   * While anyone subscribes or watches: `connecting` until the reader knows
   * where the stream stands, `ready` while it reads, `down` (with the cause)
   * from losing the reading connection until it resumed. With neither, the
   * command connection's state.
   */
  readonly status: BackendStatus;
  onStatus(listener: (status: BackendStatus) => void): () => void;
}

const DEFAULT_MAX_LEN = 100_000;
const FAILURE_LOG_INTERVAL_MS = 1_000;
/** After a reply error on the reader (wrong key type, ACL), wait this long before reading again. */
const READER_ERROR_PAUSE_MS = 1_000;

interface Outgoing {
  readonly trace: PublishTrace;
  readonly text: string;
  readonly confirm?: { resolve(added: number): void; reject(error: unknown): void } | undefined;
}

/** Decoded entry, ready to hand over. */
type Decoded<T> = {
  readonly event: T;
  readonly size: number;
  readonly trace: ReturnType<typeof checkTraceContext>['trace'];
};

function positiveNumber(value: unknown, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(`options.${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function retentionOf(retention: StreamRetention | undefined): TrimArguments {
  const maxLen = positiveNumber(retention?.maxLen, 'retention.maxLen', DEFAULT_MAX_LEN);
  if (maxLen !== undefined && !Number.isSafeInteger(maxLen)) {
    throw new TypeError(`options.retention.maxLen must be a positive integer, got ${String(maxLen)}`);
  }
  return {
    operator: retention?.exact === true ? '=' : '~',
    maxLen,
    maxAgeMs: positiveNumber(retention?.maxAgeMs, 'retention.maxAgeMs', undefined),
  };
}

class RedisStreamEventServiceImpl<T> implements RedisStreamEventService<T> {
  readonly streamKey: string;
  readonly replay: ReplayInfo;
  #codec: Codec<T>;
  #logger: Logger;
  #address: string;
  #connection: ReturnType<typeof parseRedisAddress>;
  #trim: TrimArguments;
  #positions: PositionFormat;
  #publishTimeoutMs: number;
  #maxPendingWhileDown: number;
  #subscribeTimeoutMs: number;
  #blockMs: number;
  #heartbeatMs: number;
  #readCount: number;
  #fanOut: FanOut<T>;
  #telemetry: Instrumentation;
  #eventType: ((event: T) => string | undefined) | undefined;
  #statusListeners: StatusListeners;
  #invalidWarnings: ThrottledWarnings;
  #traceWarnings: ThrottledWarnings;
  #closed = false;
  #watchers = 0;
  #joining = 0;

  /** Opened on first use: appends, replay pages, stream info. */
  #commands: { connection: CommandConnection; batches: BatchPublisher<Outgoing> } | undefined;
  #commandsDown: string | undefined;
  #commandsFailure: unknown;
  #waitingForCommands = new WaitList();
  #waitingForAnswer = new WaitList();

  /** Opened on first demand; one `XREAD BLOCK` loop on it while anyone subscribes or watches. */
  #reader: Redis | undefined;
  #readerLoop: Promise<void> | undefined;
  /**
   * The last ID the reader took (delivered or skipped); undefined until it
   * learnt where the stream stands. Live subscriptions have everything up to it.
   */
  #readerLast: string | undefined;
  /** The reader lost its connection since it last read: continuity is checked before reading on. */
  #readerLost = false;
  #readerDown: string | undefined;
  #readerFailure: unknown;
  /** Rejects the reader's command in flight when its connection closes (ioredis would keep it forever). */
  #abandonRead: ((error: Error) => void) | undefined;
  #readerPause: { timer: NodeJS.Timeout; resume: () => void } | undefined;
  /** When the reader connection last became ready (`performance.now()`): silence before it is a reconnect, not a hang. */
  #readerReadyAt = 0;
  #waitingForReader = new WaitList();
  /**
   * Subscriptions that left replay ahead of the reader: live entries up to
   * their ID they already have. Few and short-lived; empty on the fast path.
   */
  #guards = new Map<LocalSubscription<T>, string>();
  #failuresSinceLog = 0;
  #lastFailureLog = 0;

  constructor(options: RedisStreamEventServiceOptions<T>) {
    if (typeof options.streamKey !== 'string' || options.streamKey === '') {
      throw new TypeError('options.streamKey must be a non-empty string');
    }
    if (typeof options.codec?.encode !== 'function' || typeof options.codec.decode !== 'function') {
      throw new TypeError('options.codec must have encode() and decode()');
    }
    this.#connection = parseRedisAddress(options.redisAddress);
    this.#address = redact(options.redisAddress);
    this.streamKey = options.streamKey;
    this.#codec = options.codec;
    this.#trim = retentionOf(options.retention);
    this.replay = Object.freeze({ maxEvents: this.#trim.maxLen, maxAgeMs: this.#trim.maxAgeMs, approximate: true });
    this.#positions = new PositionFormat(positionTag('rs', this.streamKey), /^\d{1,20}-\d{1,20}$/);
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.#publishTimeoutMs = positiveNumber(options.publishTimeoutMs, 'publishTimeoutMs', 1_000) as number;
    this.#maxPendingWhileDown = options.maxPendingWhileDown ?? 10_000;
    this.#subscribeTimeoutMs = positiveNumber(options.subscribeTimeoutMs, 'subscribeTimeoutMs', 5_000) as number;
    this.#blockMs = positiveNumber(options.blockMs, 'blockMs', 1_000) as number;
    this.#heartbeatMs = positiveNumber(options.heartbeatMs, 'heartbeatMs', 3_000) as number;
    this.#readCount = positiveNumber(options.readCount, 'readCount', 1_000) as number;
    this.#eventType = options.eventType;
    this.#telemetry = new Instrumentation('redis', this.streamKey, options);
    const fields = { stream: this.streamKey };
    this.#invalidWarnings = new ThrottledWarnings(this.#logger, {
      fields,
      summary: 'skipped more stream entries that are not valid events: counted by reason, not logged one by one',
    });
    this.#traceWarnings = new ThrottledWarnings(this.#logger, {
      fields,
      summary: 'dropped more malformed trace context fields: counted by field, not logged one by one',
    });
    this.#statusListeners = new StatusListeners('connecting', (error) =>
      this.#logger.warn({ stream: this.streamKey, err: error }, 'a status listener threw; ignored'),
    );
    this.#fanOut = new FanOut<T>(
      this.#telemetry.fanOutObserver(() => {
        for (const sub of this.#guards.keys()) if (sub.closed) this.#guards.delete(sub);
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
    if (this.#wantsReader()) {
      if (this.#readerLast !== undefined && !this.#readerLost) return READY;
      if (this.#readerDown !== undefined) return { state: 'down', reason: this.#readerDown };
      return { state: 'connecting', reason: 'reading the Redis stream' };
    }
    const commands = this.#commands?.connection;
    if (commands === undefined)
      return { state: 'connecting', reason: 'not connected: nothing published or subscribed yet' };
    if (commands.status === 'ready') return READY;
    if (this.#commandsDown !== undefined) return { state: 'down', reason: this.#commandsDown };
    return { state: 'connecting', reason: 'connecting to Redis' };
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    if (this.#closed) return () => {};
    this.#watchers++;
    this.#statusChanged();
    const remove = this.#statusListeners.add(listener);
    this.#startReader();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      remove();
      this.#watchers--;
      this.#statusChanged();
    };
  }

  publish(event: T): void {
    if (this.#closed) {
      this.#logger.warn({ stream: this.streamKey }, 'publish after close ignored: the event was not appended');
      return;
    }
    const outgoing = this.#begin(event);
    if (outgoing !== undefined) this.#transmit(outgoing);
  }

  publishConfirmed(event: T): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceClosedError());
    return this.#waitingForAnswer.untilAnswered<number>((answer) => {
      const outgoing = this.#begin(event, answer);
      if (outgoing !== undefined) this.#transmit(outgoing);
    });
  }

  async subscribe(options?: SubscribeOptions): Promise<Subscription<T>> {
    if (this.#closed) throw new ServiceClosedError();
    resolveSubscribeOptions(options);
    const from = options?.from;
    // Checked before anything is opened, so a bad position leaves nothing behind.
    const after = from === undefined ? undefined : from === OLDEST ? START_ID : this.#parsePosition(from);
    options?.signal?.throwIfAborted();
    this.#joining++;
    try {
      await this.#readerKnowsWhere(options?.signal);
      const info = after === undefined || from === OLDEST ? undefined : await this.#streamInfo();
      if (this.#closed) throw new ServiceClosedError();
      options?.signal?.throwIfAborted();
      if (after !== undefined && from !== OLDEST && compareIds(after, info?.lastGeneratedId ?? START_ID) > 0) {
        throw new PositionError('ahead', 'the position is ahead of every entry in the stream');
      }
      const sub = this.#fanOut.open(options);
      if (after === undefined) {
        sub.startAt(this.#positions.format(this.#readerLast ?? START_ID));
      } else {
        sub.startAt(from === OLDEST ? undefined : from);
        this.#replayInto(sub, after, from !== OLDEST);
      }
      return sub;
    } finally {
      this.#joining--;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#commands?.batches.flush();
    this.#waitingForCommands.settleAll(new ServiceClosedError());
    this.#waitingForReader.settleAll(new ServiceClosedError());
    this.#waitingForAnswer.settleAll(new ServiceClosedError());
    if (this.#readerPause) {
      clearTimeout(this.#readerPause.timer);
      this.#readerPause.resume();
    }
    this.#fanOut.endAll();
    this.#guards.clear();
    this.#telemetry.close();
    this.#statusListeners.close();
    this.#invalidWarnings.flush();
    this.#traceWarnings.flush();
    // The reader is blocked in XREAD: drop it rather than wait out the block.
    this.#reader?.disconnect();
    this.#abandonRead?.(new ServiceClosedError());
    const commands = this.#commands?.connection;
    if (commands !== undefined) await shutDown(commands);
    await this.#readerLoop;
  }

  /** The stream ID a position names, canonical. */
  #parsePosition(position: string): string {
    const id = canonicalId(this.#positions.parse(position));
    if (id === undefined) throw new PositionError('malformed', 'the position is not a stream ID Redis accepts');
    return id;
  }

  // ---- publishing -------------------------------------------------------------------------------

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

  #commandConnection(): { connection: CommandConnection; batches: BatchPublisher<Outgoing> } {
    if (this.#commands) return this.#commands;
    const connection = openCommands(this.#connection);
    connection.on('ready', () => {
      this.#commandsFailure = undefined;
      this.#commandsDown = undefined;
      this.#waitingForCommands.settleAll();
      this.#statusChanged();
    });
    connection.on('error', (error: Error) => {
      this.#commandsFailure = error;
      if (!this.#closed && connection.status !== 'ready')
        this.#commandsDown = `Redis unreachable (${failureCause(error)})`;
      this.#noteFailure('command connection error', error);
      this.#statusChanged();
    });
    connection.on('close', () => {
      if (this.#closed) return;
      this.#commandsDown ??= 'Redis command connection lost';
      this.#statusChanged();
    });
    const batches = new BatchPublisher(appending(connection, this.#trim), this.streamKey, this.#answered, {
      onScriptsRefused: (error) =>
        this.#logger.warn(
          { stream: this.streamKey, address: this.#address, err: error.message },
          'Redis refused the batch append script; appending with one XADD per event from now on',
        ),
      answerTimeoutMs: this.#publishTimeoutMs,
      onNoAnswer: (unanswered) => {
        this.#logger.warn(
          { stream: this.streamKey, address: this.#address, unanswered, timeoutMs: this.#publishTimeoutMs },
          'Redis answered no append within the timeout; the unanswered publishes count as failed, and the connection is reopened',
        );
        if (!this.#closed) connection.disconnect(true);
        return new PublishError(
          `Redis at ${this.#address} did not answer the publish within ${this.#publishTimeoutMs} ms`,
        );
      },
      fallback: appendFallback(this.#trim),
    });
    // What was sent on a connection that closed gets no answer: it fails rather than being appended twice.
    connection.on('close', () =>
      batches.failUnanswered(
        new PublishError(`the connection to Redis at ${this.#address} closed before Redis answered the publish`),
      ),
    );
    this.#commands = { connection, batches };
    return this.#commands;
  }

  #transmit(outgoing: Outgoing): void {
    const { connection, batches } = this.#commandConnection();
    if (connection.status === 'ready') {
      batches.add(outgoing);
      return;
    }
    if (this.#waitingForCommands.size >= this.#maxPendingWhileDown) {
      this.#fail(
        outgoing,
        this.#failure(
          PublishError,
          `Redis at ${this.#address} is not connected (${connection.status}) and ${this.#waitingForCommands.size} publishes already wait`,
          this.#commandsFailure,
        ),
      );
      return;
    }
    this.#waitingForCommands
      .park(this.#publishTimeoutMs, () =>
        this.#failure(
          PublishError,
          `Redis at ${this.#address} not connected within ${this.#publishTimeoutMs} ms`,
          this.#commandsFailure,
        ),
      )
      .promise.then(
        () => batches.add(outgoing),
        (error: unknown) => this.#fail(outgoing, error),
      );
  }

  #answered = (batch: readonly Outgoing[], outcome: readonly number[] | Error, startedAt: number): void => {
    if (outcome instanceof Error) {
      const error =
        outcome instanceof TidingsError
          ? outcome
          : this.#failure(PublishError, `Redis at ${this.#address} did not accept the append`, outcome);
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

  #fail(outgoing: Outgoing, error: unknown): void {
    this.#telemetry.endPublish(outgoing.trace, error);
    if (outgoing.confirm) outgoing.confirm.reject(error);
    else this.#noteFailure('publish failed; the event was dropped', error);
  }

  // ---- the shared reader ------------------------------------------------------------------------

  /** Someone subscribes, is joining, or watches the status. */
  #wantsReader(): boolean {
    return !this.#closed && (this.#fanOut.size > 0 || this.#joining > 0 || this.#watchers > 0);
  }

  /** Waits until the reader knows where the stream stands, so a subscription opened now misses nothing after. */
  #readerKnowsWhere(signal: AbortSignal | undefined): Promise<void> {
    this.#startReader();
    if (this.#readerLast !== undefined) return Promise.resolve();
    return this.#waitingForReader.park(
      this.#subscribeTimeoutMs,
      () =>
        this.#failure(
          ConnectionError,
          `Redis at ${this.#address} did not answer reading stream ${this.streamKey} within ${this.#subscribeTimeoutMs} ms`,
          this.#readerFailure ?? this.#commandsFailure,
        ),
      signal,
    ).promise;
  }

  #startReader(): void {
    if (this.#readerLoop !== undefined || this.#closed) return;
    this.#readerLoop = this.#read().finally(() => {
      this.#readerLoop = undefined;
      // Demand may have come back while the loop was winding down.
      if (this.#wantsReader()) this.#startReader();
    });
  }

  #readerConnection(): Redis {
    if (this.#reader) return this.#reader;
    const reader = openReader(this.#connection);
    reader.on('error', (error: Error) => {
      this.#readerFailure = error;
      if (!this.#closed && (this.#readerLost || this.#readerLast === undefined)) {
        this.#readerDown = `Redis unreachable (${failureCause(error)})`;
      }
      this.#noteFailure('stream reader connection error', error);
      this.#statusChanged();
    });
    reader.on('close', () => {
      if (this.#closed) return;
      this.#abandonRead?.(new ConnectionError('the stream reader connection closed'));
      if (!this.#readerLost) {
        this.#readerLost = true;
        this.#readerDown ??= 'Redis stream reader connection lost';
        if (this.#readerLast !== undefined)
          this.#logger.warn(
            { stream: this.streamKey, subscriptions: this.#fanOut.size },
            'Redis stream reader connection lost; reconnecting, and reading on from the last entry read',
          );
      }
      this.#statusChanged();
    });
    reader.on('ready', () => {
      this.#readerReadyAt = performance.now();
      this.#readerFailure = undefined;
    });
    this.#reader = reader;
    return reader;
  }

  /**
   * Runs one command on the reader, given up (rejected) if its connection
   * closes first. A watchdog reopens the connection when Redis has not
   * answered within `blockingMs` plus the heartbeat slack since the command
   * could have been sent (a hung server, or a network that drops packets
   * without closing); waiting for a reconnect does not count.
   */
  #onReader<R>(command: (reader: Redis) => Promise<R>, blockingMs = 0): Promise<R> {
    const reader = this.#readerConnection();
    const limit = blockingMs + this.#heartbeatMs;
    const sentAt = performance.now();
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (delay: number): void => {
      watchdog = setTimeout(() => {
        const silent = performance.now() - Math.max(sentAt, this.#readerReadyAt);
        if (reader.status !== 'ready' || silent < limit) {
          arm(reader.status === 'ready' ? limit - silent : limit);
          return;
        }
        this.#logger.warn(
          { stream: this.streamKey, address: this.#address, silentMs: Math.round(silent) },
          'Redis did not answer the stream reader in time; reopening its connection',
        );
        reader.disconnect(true);
      }, delay);
      watchdog.unref();
    };
    arm(limit);
    return new Promise<R>((resolve, reject) => {
      this.#abandonRead = reject;
      command(reader).then(resolve, reject);
    }).finally(() => {
      clearTimeout(watchdog);
      this.#abandonRead = undefined;
    });
  }

  /** The loop: learn where the stream stands (or check continuity after a loss), then XREAD BLOCK until nobody wants it. */
  async #read(): Promise<void> {
    while (this.#wantsReader()) {
      try {
        if (this.#readerLast === undefined) {
          const newest = await this.#onReader((reader) => reader.xrevrange(this.streamKey, '+', '-', 'COUNT', 1));
          this.#readerLast = newest[0]?.[0] ?? START_ID;
          this.#recovered(false);
        } else if (this.#readerLost) {
          await this.#checkContinuity();
        }
        const previous = this.#readerLast;
        const reply = await this.#readOnce(previous);
        const entries = reply?.[0]?.[1];
        if (entries !== undefined && entries.length > 0) {
          await this.#checkTrimmedBefore(previous, entries);
          this.#onRead(entries);
        }
      } catch (error) {
        if (this.#closed) return;
        if (!this.#readerLost) {
          // A reply error with the connection up (a key of another type, an ACL): not a hot loop.
          this.#noteFailure('reading the stream failed; trying again', error);
          this.#readerFailure = error;
          await this.#pause(READER_ERROR_PAUSE_MS);
        }
      }
    }
    // Nobody reads: where the stream stood is stale by the next subscription.
    if (!this.#closed && !this.#readerLost) this.#readerLast = undefined;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resume) => {
      const timer = setTimeout(() => {
        this.#readerPause = undefined;
        resume();
      }, ms);
      this.#readerPause = { timer, resume };
    });
  }

  /** One `XREAD BLOCK`; not answered within the block time plus the slack, the connection counts as hung. */
  async #readOnce(after: string): Promise<[string, RawEntry[]][] | null> {
    const read = this.#onReader(
      (r) => r.xread('COUNT', this.#readCount, 'BLOCK', this.#blockMs, 'STREAMS', this.streamKey, after),
      this.#blockMs,
    );
    // XREAD is on the wire now (ioredis writes at once on a ready connection), ahead of anything a
    // subscriber resumed here publishes: Redis serves it the entries of that first append whole.
    this.#waitingForReader.settleAll();
    return (await read) as [string, RawEntry[]][] | null;
  }

  /**
   * After the reader's connection came back: resumes from the last ID read
   * when the stream still holds it; otherwise tells subscribers what was lost —
   * `expired` when Redis trimmed past it, `reconnect` when the stream is gone
   * or was recreated (a restart without persistence) — and reads the new stream from its start.
   */
  async #checkContinuity(): Promise<void> {
    const last = this.#readerLast as string;
    const [info, still] = await this.#onReader(async (reader) => {
      const replies = await reader.pipeline().xinfo('STREAM', this.streamKey).xrange(this.streamKey, last, last).exec();
      const [infoError, infoReply] = replies?.[0] ?? [];
      if (infoError && !isNoSuchKey(infoError)) throw infoError;
      const [rangeError, rangeReply] = replies?.[1] ?? [];
      if (rangeError) throw rangeError;
      return [infoError ? undefined : readStreamInfo(infoReply), (rangeReply as RawEntry[]).length > 0] as const;
    });
    if (last === START_ID || still) {
      this.#recovered(true);
      return;
    }
    if (info !== undefined && compareIds(info.lastGeneratedId, last) >= 0 && trimmedAfter(info, last)) {
      // Trimmed past the last entry read, while we were away: what Redis kept follows. The gap comes
      // before the status, as with pub/sub: whoever hears `ready` finds it already reported.
      this.#fanOut.reportGap('expired');
      this.#recovered(true);
      return;
    }
    this.#logger.warn(
      { stream: this.streamKey, lastRead: last },
      'the Redis stream no longer holds the last entry read and was not trimmed past it: it was deleted or Redis restarted without its data; reading the new stream from its start',
    );
    this.#readerLast = START_ID;
    this.#guards.clear();
    this.#fanOut.reportGap('reconnect');
    this.#recovered(true);
  }

  #recovered(afterLoss: boolean): void {
    if (afterLoss && this.#readerLost) {
      this.#telemetry.reconnected();
      this.#logger.info({ stream: this.streamKey }, 'Redis stream reader back; reading on');
    }
    this.#readerLost = false;
    this.#readerDown = undefined;
    this.#statusChanged();
  }

  /**
   * Tells live subscriptions when Redis trimmed entries the reader never got
   * (it fell behind by more than the retention). Trimming keeps at least
   * `maxLen` entries, so a loss shows as a full read unless `maxLen` is below
   * the read count; only then is Redis asked. Trimming that reached past the
   * first entry read is taken as a loss only after a full read: the reader is
   * that far behind.
   */
  async #checkTrimmedBefore(previous: string, entries: RawEntry[]): Promise<void> {
    const full = entries.length >= this.#readCount;
    if (!full && (this.#trim.maxLen === undefined || this.#trim.maxLen >= this.#readCount)) return;
    const info = await this.#onReader(async (reader) => {
      try {
        return readStreamInfo(await reader.xinfo('STREAM', this.streamKey));
      } catch (error) {
        if (isNoSuchKey(error)) return undefined;
        throw error;
      }
    });
    if (info === undefined || !trimmedAfter(info, previous)) return;
    const first = (entries[0] as RawEntry)[0];
    // Trimmed past what this read returned too: taken as a loss only after a full read, when the reader is that far behind.
    if (compareIds(info.firstId, first) <= 0 || full) {
      this.#logger.warn(
        { stream: this.streamKey, lastRead: previous, oldestHeld: info.firstId },
        'Redis trimmed stream entries before they were read: the reader fell behind the retention bound',
      );
      this.#fanOut.reportGap('expired');
    }
  }

  #onRead(entries: RawEntry[]): void {
    for (const [id, fields] of entries) {
      this.#readerLast = id;
      const entry = readEntry(fields);
      if (entry.kind === 'gap') {
        this.#liveGap(id);
        continue;
      }
      const decoded = entry.kind === 'event' ? this.#decode(entry.text) : this.#invalid(entry.why);
      if (decoded === undefined) continue;
      const { event, trace, size } = decoded;
      this.#telemetry.received(trace, this.#eventType?.(event), size, () => this.#deliverLive(event, id));
    }
  }

  #deliverLive(event: T, id: string): number {
    const position = this.#positions.format(id);
    if (this.#guards.size === 0) return this.#fanOut.deliver(event, position);
    let taken = 0;
    for (const sub of this.#fanOut.subscriptions) {
      const guard = this.#guards.get(sub);
      if (guard !== undefined) {
        if (compareIds(id, guard) <= 0) continue;
        this.#guards.delete(sub);
      }
      if (sub.deliver(event, position)) taken++;
    }
    return taken;
  }

  /** A bridge's gap record, read live: every live subscription that has not passed it hears of it. */
  #liveGap(id: string): void {
    for (const sub of this.#fanOut.subscriptions) {
      if (sub.replaying) continue; // it meets the record in its own reading
      const guard = this.#guards.get(sub);
      if (guard !== undefined && compareIds(id, guard) <= 0) continue;
      sub.reportGap('reconnect');
    }
  }

  // ---- replay -----------------------------------------------------------------------------------

  /** Feeds `sub` from the stream after `after` (see {@link replayInto}), then joins it to live delivery. */
  #replayInto(sub: LocalSubscription<T>, after: string, checkFirstRead: boolean): void {
    replayInto(sub, after, checkFirstRead, {
      page: (from, count) => this.#page(from, count),
      decode: (text) => this.#decode(text)?.event,
      skip: (why) => this.#invalid(why),
      position: (id) => this.#positions.format(id),
      liveLast: () => (this.#readerLost ? undefined : this.#readerLast),
      joinLive: (joining, through) => {
        const live = this.#readerLast;
        // Ahead of live delivery: the entries up to `through` must not reach it a second time.
        if (live !== undefined && compareIds(through, live) > 0) this.#guards.set(joining, through);
        joining.endReplay();
      },
      delivered: (count) => this.#telemetry.delivered(count),
      failed: (error) => this.#noteFailure('reading retained entries failed; trying again', error),
      closed: () => this.#closed,
    });
  }

  /** Up to `count` entries after `after`, with the stream info that tells whether entries after it were trimmed. */
  async #page(after: string, count: number): Promise<{ info: StreamInfo | undefined; entries: RawEntry[] }> {
    const { connection } = this.#commandConnection();
    if (connection.status !== 'ready') await this.#commandsReady();
    const replies = await this.#answeredInTime(
      connection
        .pipeline()
        .xinfo('STREAM', this.streamKey)
        .xrange(this.streamKey, `(${after}`, '+', 'COUNT', count)
        .exec(),
      'XRANGE',
    );
    const [infoError, infoReply] = replies?.[0] ?? [];
    if (infoError && !isNoSuchKey(infoError)) throw infoError;
    const [rangeError, rangeReply] = replies?.[1] ?? [];
    if (rangeError) throw rangeError;
    return { info: infoError ? undefined : readStreamInfo(infoReply), entries: (rangeReply as RawEntry[]) ?? [] };
  }

  async #streamInfo(): Promise<StreamInfo | undefined> {
    const { connection } = this.#commandConnection();
    if (connection.status !== 'ready') await this.#commandsReady();
    try {
      return readStreamInfo(await this.#answeredInTime(connection.xinfo('STREAM', this.streamKey), 'XINFO STREAM'));
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw this.#failure(
        ConnectionError,
        `Redis at ${this.#address} could not describe stream ${this.streamKey}`,
        error,
      );
    }
  }

  /** `reply`, or a ConnectionError once Redis left it unanswered for the subscribe timeout (a hung server). */
  #answeredInTime<R>(reply: Promise<R>, command: string): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectionError(
              `Redis at ${this.#address} did not answer ${command} within ${this.#subscribeTimeoutMs} ms`,
            ),
          ),
        this.#subscribeTimeoutMs,
      );
      timer.unref();
    });
    return Promise.race([reply, late]).finally(() => clearTimeout(timer));
  }

  #commandsReady(): Promise<void> {
    return this.#waitingForCommands.park(this.#subscribeTimeoutMs, () =>
      this.#failure(
        ConnectionError,
        `Redis at ${this.#address} not connected within ${this.#subscribeTimeoutMs} ms`,
        this.#commandsFailure,
      ),
    ).promise;
  }

  // ---- entries ----------------------------------------------------------------------------------

  #decode(text: string): Decoded<T> | undefined {
    const result = this.#codec.decode(text);
    if (!result.ok) {
      const { error } = result;
      this.#telemetry.invalid(error.reason);
      this.#invalidWarnings.warn(
        error.reason,
        {
          stream: this.streamKey,
          reason: error.reason,
          path: error.path,
          eventType: error.eventType,
          error: error.message,
        },
        'skipped a stream entry that is not a valid event',
      );
      return undefined;
    }
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
    return { event, trace, size: text.length };
  }

  /** An entry that is neither an event nor a gap record: counted as `no-envelope`, logged (throttled), skipped. */
  #invalid(why: string): undefined {
    this.#telemetry.invalid('no-envelope');
    this.#invalidWarnings.warn(
      'no-envelope',
      { stream: this.streamKey, reason: 'no-envelope', error: why },
      'skipped a stream entry that is not a valid event',
    );
    return undefined;
  }

  #traceDropped(field: TraceContextDrop, eventType: string | undefined): void {
    this.#telemetry.traceContextDropped(field);
    this.#traceWarnings.warn(
      field,
      { stream: this.streamKey, field, eventType },
      'dropped a malformed trace context field of an entry; the event was delivered without it',
    );
  }

  // ---- status and failures ----------------------------------------------------------------------

  #statusChanged(): void {
    this.#statusListeners.update(this.status);
  }

  #failure<E extends PublishError | ConnectionError>(
    kind: new (message: string, options?: { cause?: unknown }) => E,
    what: string,
    cause: unknown,
  ): E {
    if (cause === undefined) return new kind(what);
    return new kind(`${what}: ${connectionFailure(cause)}`, { cause: scrubbed(cause) });
  }

  #noteFailure(what: string, error: unknown): void {
    this.#failuresSinceLog++;
    const now = Date.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#logger.warn(
      {
        stream: this.streamKey,
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

/** What a connection failure says without its address: the error code or its name. */
function failureCause(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  const word = /^[A-Z][A-Z0-9_]+\b/.exec(error.message)?.[0];
  return word ?? error.name;
}

/** QUIT politely when connected (bounded), then drop the socket and stop reconnecting. */
async function shutDown(connection: CommandConnection): Promise<void> {
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
 * A durable event service on a Redis stream: `XADD` (batched, one script
 * call per turn of the event loop) with a retention bound, and one shared
 * `XREAD BLOCK` connection per service for all its subscriptions. Positions
 * are stream IDs, the same in every process reading the stream, so a
 * subscription can resume where another one (or another gateway) left off.
 *
 * Entries carry the pub/sub backend's wire text in a field `m`, so what the
 * two backends carry is the same. Invalid entries are logged (throttled),
 * counted and skipped; a bridge's gap record reaches subscribers as a
 * `reconnect` gap at its place in the stream.
 *
 * After a lost connection the reader resumes from the last ID it read: nothing
 * Redis kept is lost or repeated. Where Redis lost entries, subscribers hear it:
 * `expired` when trimming passed the last ID read, `reconnect` when the stream
 * was deleted or Redis restarted without its data.
 *
 * @throws {ConfigError} when `redisAddress` is malformed.
 * @throws {TypeError} when `streamKey`, `codec` or a bound is missing or invalid.
 * @example
 * ```ts
 * const events = createRedisStreamEventService({
 *   redisAddress: 'redis://127.0.0.1:6379/0',
 *   streamKey: 'enduro-ingest-events',
 *   codec: ingestCodec,
 *   retention: { maxLen: 100_000 },
 * });
 * const sub = await events.subscribe({ from: savedPosition });
 * ```
 */
export function createRedisStreamEventService<T>(
  options: RedisStreamEventServiceOptions<T>,
): RedisStreamEventService<T> {
  return new RedisStreamEventServiceImpl<T>(options);
}
