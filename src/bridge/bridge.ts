import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { MeterProvider } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { parseNatsAddress } from '../backends/nats/nats-address.js';
import { checkStreamName, checkSubject, streamNameFor } from '../backends/nats-stream/stream-setup.js';
import { parseRedisAddress } from '../backends/redis/redis-address.js';
import { reconnectDelay } from '../backends/redis/redis-connection.js';
import { boundedLogger, type Logger, silentLogger } from '../core/logger.js';
import { type BridgeCounts, BridgeMetrics } from './bridge-metrics.js';
import { JetStreamSink } from './jetstream-sink.js';
import { defineLeaseCommands, RedisLease } from './lease.js';
import { defineSinkCommands, RedisStreamSink } from './redis-stream-sink.js';
import type { BridgeSink, SinkOutcome } from './sink.js';

/** Options of {@link createBridge}. */
export interface BridgeOptions {
  /** The Redis server of the channel, the stream and the lease: `redis://[user[:password]@]host[:port][/db]`. */
  readonly redisAddress: string;
  /** The pub/sub channel to copy. */
  readonly channel: string;
  /** The stream to copy into; default: the channel's name. */
  readonly streamKey?: string;
  /**
   * Copy into a NATS JetStream stream instead of a Redis stream (the lease
   * stays in Redis). `streamKey` is then ignored.
   */
  readonly jetStream?: BridgeJetStreamOptions;
  /** The lease's key; default: `<streamKey>:bridge-lease` (with `jetStream`: `<JetStream stream>:bridge-lease`). */
  readonly leaseKey?: string;
  /**
   * How long the lease lasts unless renewed, in ms (default 3000). The active
   * bridge renews it every third of that; a standby tries to take it as
   * often, so it takes over at most `leaseTtlMs * 4 / 3` (plus one SUBSCRIBE)
   * after the active bridge stopped renewing.
   */
  readonly leaseTtlMs?: number;
  /** Approximate cap on the stream's entries (`MAXLEN ~`); default 100,000; 0 for none (not with `jetStream`). */
  readonly maxLen?: number;
  /** Entries older than this many ms are trimmed (`MINID ~`); default: none (with `jetStream`: one day). */
  readonly maxAgeMs?: number;
  /** This bridge's id, in its lease value and its gap records; default: random. */
  readonly id?: string;
  readonly logger?: Logger;
  /** Where the bridge's metrics go; default: the global OpenTelemetry meter provider (a no-op unless set). */
  readonly meterProvider?: MeterProvider;
  /** Told each time the bridge becomes active or drops to standby, with why. */
  readonly onRoleChange?: (role: 'active' | 'standby', reason: string) => void;
}

/**
 * Where a bridge copies to when the destination is JetStream. The stream is
 * created with (or checked against) the same limits a JetStream event service
 * uses by default, so `createNatsStreamEventService` on the subject reads it.
 */
export interface BridgeJetStreamOptions {
  /** `nats://[user[:password]@]host[:port]`; several servers of one cluster as a list or comma-separated. */
  readonly natsAddress: string | readonly string[];
  /** The subject to publish on, e.g. `enduro.ingest.events`. */
  readonly subject: string;
  /** The JetStream stream; default: the subject with `.` replaced by `_` (as the event service names it). */
  readonly stream?: string;
  /** How long one publish waits for its acknowledgement, in ms; default 5000. */
  readonly publishTimeoutMs?: number;
}

/** What a JetStream event service defaults to, so a bridge's stream passes its check unchanged. */
const JETSTREAM_DEFAULT_MAX_AGE_MS = 86_400_000;
const JETSTREAM_DUPLICATE_WINDOW_MS = 120_000;

/** Where a bridge stands: not started, standing by, holding the lease and copying, or closed. */
export type BridgeRole = 'starting' | 'standby' | 'active' | 'closed';

/** A bridge's state and counts, for health checks and operators. */
export interface BridgeStatus extends Readonly<BridgeCounts> {
  readonly id: string;
  readonly role: BridgeRole;
  /** Ready to do its part: connected, and either active and subscribed, or standing by. */
  readonly ready: boolean;
  /** Why it is not ready (empty when it is); never an address or password. */
  readonly reasons: readonly string[];
  readonly subscribed: boolean;
  /** Messages received and not yet written. */
  readonly pending: number;
}

/**
 * Copies a Redis pub/sub channel into a Redis stream. Run two or more: one
 * holds a lease and copies, the others stand by and take over when it stops
 * renewing; each window in which none copied is marked in the stream with a
 * gap record.
 */
export interface Bridge {
  readonly id: string;
  /** Connects to Redis and starts competing for the lease; rejects when Redis cannot be reached. */
  start(): Promise<void>;
  /**
   * Stops: unsubscribes, writes what it received, and releases the lease so a
   * standby takes over at once. Idempotent.
   */
  close(): Promise<void>;
  status(): BridgeStatus;
}

type EventItem = { readonly kind: 'event'; readonly payload: Buffer; readonly at: number };
/**
 * A window to mark before the next copy. `until` is set once the subscription
 * that ends the window is confirmed; `onlyIfStreamHasEntries` spares a new,
 * empty stream a gap before its first event.
 */
type GapItem = {
  readonly kind: 'gap';
  until: Date | undefined;
  readonly fallbackSince: Date;
  readonly onlyIfStreamHasEntries: boolean;
};
type Item = EventItem | GapItem;

/** Messages one script call writes at most, so one call never blocks Redis for long. */
const MAX_BATCH = 500;
/** Messages held unwritten at most (Redis unreachable); beyond, they are dropped and a gap is marked. */
const MAX_PENDING = 100_000;

/** Settles when `promise` does or after `ms`, whichever comes first; never rejects. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Creates a bridge (see {@link Bridge}); nothing connects before `start()`. */
export function createBridge(options: BridgeOptions): Bridge {
  return new RedisBridge(options);
}

class RedisBridge implements Bridge {
  readonly id: string;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #lease: RedisLease;
  readonly #sink: BridgeSink;
  /** The sink again when it is JetStream's: it has a connection of its own to open, watch and close. */
  readonly #jetStream: JetStreamSink | undefined;
  readonly #metrics: BridgeMetrics;
  readonly #onRoleChange: BridgeOptions['onRoleChange'];
  readonly #counts: BridgeCounts = { copied: 0, gaps: 0, takeovers: 0, discarded: 0, writeFailures: 0 };

  #role: BridgeRole = 'starting';
  /** Bumped on every change of role: what an earlier term received is never written in a later one. */
  #term = 0;
  #queue: Item[] = [];
  #subscribed = false;
  #subscribing = false;
  #pumping: Promise<void> | undefined;
  #ticking = false;
  #timer: NodeJS.Timeout | undefined;
  /** Until when (performance.now()) this bridge may count on holding the lease without another renewal. */
  #leaseDeadline = 0;
  #lastTickError: string | undefined;
  #closing: Promise<void> | undefined;
  /** A write failed: the next lease round retries, rather than a loop against a failing Redis. */
  #backoff = false;

  constructor(options: BridgeOptions) {
    const connection = parseRedisAddress(options.redisAddress);
    if (typeof options.channel !== 'string' || options.channel === '') throw new TypeError('channel is required');
    const ttl = options.leaseTtlMs ?? 3_000;
    if (!Number.isSafeInteger(ttl) || ttl < 30) throw new TypeError(`leaseTtlMs must be an integer >= 30, got ${ttl}`);
    const maxLen = options.maxLen ?? 100_000;
    const maxAgeMs = options.maxAgeMs ?? 0;
    for (const [name, value] of [
      ['maxLen', maxLen],
      ['maxAgeMs', maxAgeMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new TypeError(`${name} must be an integer >= 0, got ${value}`);
    }
    this.id = options.id ?? randomBytes(6).toString('hex');
    this.#channel = options.channel;
    this.#ttlMs = ttl;
    this.#logger = boundedLogger(options.logger ?? silentLogger);
    this.#onRoleChange = options.onRoleChange;
    const js = options.jetStream;
    const jsSubject = js === undefined ? undefined : checkSubject(js.subject);
    const jsStream = jsSubject === undefined ? undefined : checkStreamName(js?.stream ?? streamNameFor(jsSubject));
    const servers = js === undefined ? undefined : parseNatsAddress(js.natsAddress);
    if (js !== undefined && maxLen === 0) throw new TypeError('maxLen must be >= 1 when copying into JetStream');
    const streamKey = jsStream ?? options.streamKey ?? options.channel;
    const leaseKey = options.leaseKey ?? `${streamKey}:bridge-lease`;
    const holder = `${this.id} ${hostname()} pid ${process.pid}`;

    // Nothing waits offline or is resent after a reconnect: a resent XADD could copy twice, and a
    // lease command answered late is worth less than a fresh one on the next tick. A command that
    // gets no answer within a lease term fails, so a hung Redis reads as a lost lease, not a hang.
    this.#command = new Redis({
      ...connection,
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 1,
      commandTimeout: ttl,
      retryStrategy: reconnectDelay,
      connectionName: 'tidings-bridge',
    });
    const leaseConnection = defineLeaseCommands(this.#command);
    const sinkConnection = defineSinkCommands(this.#command);
    // The subscription is this bridge's to make (once active) and to remake after a reconnect, with a gap.
    this.#subscriber = new Redis({
      ...connection,
      lazyConnect: true,
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      retryStrategy: reconnectDelay,
      connectionName: 'tidings-bridge-subscriber',
    });
    this.#lease = new RedisLease(leaseConnection, leaseKey, holder, ttl);
    if (jsSubject !== undefined && jsStream !== undefined && servers !== undefined) {
      const maxAge = maxAgeMs === 0 ? JETSTREAM_DEFAULT_MAX_AGE_MS : maxAgeMs;
      this.#jetStream = new JetStreamSink({
        servers,
        subject: jsSubject,
        stream: jsStream,
        limits: {
          maxEvents: maxLen,
          maxAgeMs: maxAge,
          replicas: 1,
          duplicateWindowMs: Math.min(JETSTREAM_DUPLICATE_WINDOW_MS, maxAge),
        },
        bridgeId: this.id,
        publishTimeoutMs: js?.publishTimeoutMs ?? 5_000,
        stillHolds: async () => (await this.#lease.current()) === holder,
      });
      this.#sink = this.#jetStream;
    } else {
      this.#sink = new RedisStreamSink(sinkConnection, { streamKey, leaseKey, holder, maxLen, maxAgeMs });
    }
    this.#metrics = new BridgeMetrics(
      options.meterProvider,
      { channel: options.channel, destination: streamKey, bridge: this.id },
      () => ({ counts: this.#counts, active: this.#role === 'active', pending: this.#pendingEvents() }),
    );
    this.#command.on('error', (error: Error) => this.#logger.debug({ err: error }, 'bridge: redis connection error'));
    this.#subscriber.on('error', (error: Error) =>
      this.#logger.debug({ err: error }, 'bridge: redis subscriber connection error'),
    );
    this.#subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#received(channel, message));
    this.#subscriber.on('close', () => this.#subscriptionLost());
    this.#subscriber.on('ready', () => {
      if (this.#role === 'active') void this.#subscribe();
    });
  }

  async start(): Promise<void> {
    if (this.#role !== 'starting') throw new Error(`bridge ${this.id} was already started`);
    try {
      await Promise.all([this.#command.connect(), this.#subscriber.connect(), this.#jetStream?.open()]);
    } catch (error) {
      void this.#jetStream?.close();
      this.#role = 'closed';
      this.#closing = Promise.resolve();
      this.#command.disconnect();
      this.#subscriber.disconnect();
      this.#metrics.close();
      throw error;
    }
    this.#role = 'standby';
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), Math.max(10, Math.floor(this.#ttlMs / 3)));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Each step has a deadline of one lease term: a hung or unreachable Redis must not hold the shutdown. */
  async #close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#role === 'active') {
      if (this.#subscriber.status === 'ready') {
        // Nothing more arrives once this is answered; what came before is written below.
        await within(this.#subscriber.unsubscribe(this.#channel), this.#ttlMs);
      }
      await this.#drain();
      this.#role = 'closed';
      try {
        await this.#lease.release();
      } catch (error) {
        this.#logger.warn(
          { err: error },
          'bridge: could not release the lease; the standby takes over when it expires',
        );
      }
    }
    this.#role = 'closed';
    this.#term++;
    this.#metrics.close();
    await Promise.all(
      [this.#command, this.#subscriber].map((redis) =>
        redis.status === 'ready' ? within(redis.quit(), this.#ttlMs) : undefined,
      ),
    );
    this.#command.disconnect();
    this.#subscriber.disconnect();
    await this.#jetStream?.close();
  }

  status(): BridgeStatus {
    const reasons: string[] = [];
    if (this.#role === 'starting') reasons.push('not started');
    if (this.#role === 'closed') reasons.push('closed');
    if (this.#role === 'standby' || this.#role === 'active') {
      if (this.#command.status !== 'ready') reasons.push('not connected to Redis');
      if (this.#subscriber.status !== 'ready') reasons.push('subscriber connection to Redis not ready');
      if (this.#jetStream !== undefined && !this.#jetStream.connected) reasons.push('not connected to NATS');
      if (this.#role === 'active' && !this.#subscribed) reasons.push('active but not subscribed to the channel');
    }
    return {
      id: this.id,
      role: this.#role,
      ready: reasons.length === 0,
      reasons,
      subscribed: this.#subscribed,
      pending: this.#pendingEvents(),
      ...this.#counts,
    };
  }

  // ---------------------------------------------------------------- lease

  /** One round of the lease: the active bridge renews, a standby tries to take it. Never two at once. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#role === 'closed' || this.#role === 'starting') return;
    this.#ticking = true;
    try {
      if (this.#role === 'active') {
        if (performance.now() > this.#leaseDeadline) {
          this.#demote('the lease was not renewed in time (Redis slow or unreachable)');
        } else {
          const sent = performance.now();
          if (await this.#lease.renew()) this.#leaseDeadline = sent + this.#ttlMs;
          else this.#demote('the lease expired or another bridge holds it');
        }
        if (this.#role === 'active') {
          this.#backoff = false;
          if (!this.#subscribed && this.#subscriber.status === 'ready') void this.#subscribe();
          this.#schedulePump();
        }
      } else if (this.#role === 'standby') {
        const sent = performance.now();
        if (await this.#lease.acquire()) {
          this.#leaseDeadline = sent + this.#ttlMs;
          if (this.#role === 'standby') this.#promote();
          else await this.#lease.release();
        }
      }
      this.#lastTickError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.#lastTickError) this.#logger.warn({ err: error }, 'bridge: lease round failed');
      this.#lastTickError = message;
    } finally {
      this.#ticking = false;
    }
  }

  #promote(): void {
    this.#role = 'active';
    this.#term++;
    this.#counts.takeovers++;
    this.#subscribed = false;
    this.#jetStream?.takeover();
    this.#queue = [{ kind: 'gap', until: undefined, fallbackSince: new Date(), onlyIfStreamHasEntries: true }];
    this.#logger.info({ bridge: this.id }, 'bridge: holds the lease, copying');
    this.#onRoleChange?.('active', 'acquired the lease');
    if (this.#subscriber.status === 'ready') void this.#subscribe();
  }

  /** Drops to standby: whatever was received and not written is discarded, since a successor covers it. */
  #demote(reason: string): void {
    if (this.#role !== 'active') return;
    this.#role = 'standby';
    this.#term++;
    this.#counts.discarded += this.#pendingEvents();
    this.#queue = [];
    this.#subscribed = false;
    this.#subscriber.unsubscribe(this.#channel).catch(() => {});
    this.#logger.warn({ bridge: this.id, reason }, 'bridge: lost the lease, standing by');
    this.#onRoleChange?.('standby', reason);
  }

  // ---------------------------------------------------------------- subscription

  async #subscribe(): Promise<void> {
    if (this.#subscribing || this.#subscribed) return;
    const term = this.#term;
    this.#subscribing = true;
    try {
      await this.#subscriber.subscribe(this.#channel);
    } catch (error) {
      this.#logger.warn({ err: error }, 'bridge: SUBSCRIBE failed; retrying');
      return;
    } finally {
      this.#subscribing = false;
    }
    if (term !== this.#term || this.#role !== 'active') {
      if (this.#role !== 'active') this.#subscriber.unsubscribe(this.#channel).catch(() => {});
      return;
    }
    this.#subscribed = true;
    this.#windowEnds();
    this.#schedulePump();
  }

  /** The subscription is confirmed (or delivered its first message, which can come first): the open window ends now. */
  #windowEnds(): void {
    const gap = this.#queue.find((item): item is GapItem => item.kind === 'gap' && item.until === undefined);
    if (gap !== undefined) gap.until = new Date();
  }

  #subscriptionLost(): void {
    if (!this.#subscribed) return;
    this.#subscribed = false;
    if (this.#role !== 'active') return;
    this.#logger.warn({ bridge: this.id }, 'bridge: subscriber connection lost; a gap record follows the reconnect');
    this.#queue.push({ kind: 'gap', until: undefined, fallbackSince: new Date(), onlyIfStreamHasEntries: false });
  }

  #received(channel: Buffer, message: Buffer): void {
    if (this.#role !== 'active' || channel.toString() !== this.#channel) return;
    this.#windowEnds();
    if (this.#queue.length >= MAX_PENDING) {
      this.#counts.discarded += this.#pendingEvents();
      this.#logger.error({ bridge: this.id, pending: MAX_PENDING }, 'bridge: too many messages unwritten, dropped');
      this.#queue = [{ kind: 'gap', until: new Date(), fallbackSince: new Date(), onlyIfStreamHasEntries: false }];
    }
    this.#queue.push({ kind: 'event', payload: message, at: performance.now() });
    this.#schedulePump();
  }

  // ---------------------------------------------------------------- writing

  #pendingEvents(): number {
    let n = 0;
    for (const item of this.#queue) if (item.kind === 'event') n++;
    return n;
  }

  /**
   * Writes once the current socket read is handled: every message of one
   * chunk from Redis goes in one script call, and while a call is out the
   * next batch gathers. No timer: the first message of a quiet spell leaves at once.
   */
  #schedulePump(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = Promise.resolve()
      .then(() => this.#pump())
      .finally(() => {
        this.#pumping = undefined;
        if (this.#role === 'active' && this.#writable()) this.#schedulePump();
      });
  }

  /** Whether the head of the queue can be written now (a gap waits for the subscription that ends it). */
  #writable(): boolean {
    const head = this.#queue[0];
    return (
      !this.#backoff &&
      head !== undefined &&
      (head.kind === 'event' || head.until !== undefined) &&
      this.#command.status === 'ready'
    );
  }

  /** Writes the queue in order, one script call at a time, until it is empty, blocked, or the term ends. */
  async #pump(): Promise<void> {
    while (this.#role === 'active' && this.#writable()) {
      const term = this.#term;
      const queue = this.#queue;
      const head = queue[0] as Item;
      if (head.kind === 'gap') {
        const outcome = await this.#writeGap(head);
        if (outcome === 'failed') {
          this.#backoff = true;
          return;
        }
        queue.shift();
        if (outcome === 'fenced') this.#demote('another bridge holds the lease (write fenced)');
      } else {
        let n = 1;
        while (n < MAX_BATCH && queue[n]?.kind === 'event') n++;
        const batch = queue.splice(0, n) as EventItem[];
        let outcome: SinkOutcome;
        try {
          outcome = await this.#sink.writeEvents(batch.map((item) => item.payload));
        } catch (error) {
          // The batch may or may not have gone in: mark a window instead of resending (no duplicates),
          // its start taken from the stream, so a batch that did go in is not inside it.
          this.#counts.writeFailures++;
          this.#counts.discarded += batch.length;
          this.#logger.warn({ err: error, messages: batch.length }, 'bridge: write failed; a gap record follows');
          if (term === this.#term) {
            queue.unshift({ kind: 'gap', until: new Date(), fallbackSince: new Date(), onlyIfStreamHasEntries: false });
          }
          this.#backoff = true;
          return;
        }
        if (outcome === 'fenced') {
          this.#counts.discarded += batch.length;
          this.#demote('another bridge holds the lease (write fenced)');
        } else {
          this.#counts.copied += batch.length;
          const now = performance.now();
          for (const item of batch) this.#metrics.recordLag(now - item.at);
        }
      }
      if (term !== this.#term) return;
    }
  }

  /** Writes a gap record; `skipped` when it is not needed (an empty stream), `failed` to retry later. */
  async #writeGap(gap: GapItem): Promise<SinkOutcome | 'skipped' | 'failed'> {
    const until = gap.until as Date;
    try {
      const last = await this.#sink.lastEntryTime();
      if (last === undefined && gap.onlyIfStreamHasEntries) return 'skipped';
      const since = last === undefined ? gap.fallbackSince : new Date(Math.min(last.getTime(), until.getTime()));
      const outcome = await this.#sink.writeGap({ bridge: this.id, since, until });
      if (outcome === 'written') {
        this.#counts.gaps++;
        this.#logger.info({ bridge: this.id, since, until }, 'bridge: gap record written');
      }
      return outcome;
    } catch (error) {
      this.#counts.writeFailures++;
      this.#logger.warn({ err: error }, 'bridge: writing the gap record failed; retrying');
      return 'failed';
    }
  }

  /** Writes what is queued before the lease is released (close), for at most one lease term. */
  async #drain(): Promise<void> {
    const deadline = performance.now() + this.#ttlMs;
    while (this.#role === 'active' && this.#writable() && performance.now() < deadline) {
      this.#schedulePump();
      await this.#pumping;
    }
    await this.#pumping;
  }
}
