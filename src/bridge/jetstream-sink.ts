import { randomBytes } from 'node:crypto';
import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { GAP_HEADER } from '../backends/nats-stream/gap-header.js';
import { ensureStream, type StreamLimits } from '../backends/nats-stream/stream-setup.js';
import type { BridgeSink, GapRecord, SinkOutcome } from './sink.js';
import { gapRecordText } from './sink.js';

/** Where and how a {@link JetStreamSink} writes. */
export interface JetStreamSinkOptions {
  readonly servers: string[];
  readonly subject: string;
  readonly stream: string;
  readonly limits: StreamLimits;
  /** In message IDs, so a duplicate in the stream can be traced to its bridge. */
  readonly bridgeId: string;
  /** Whether the Redis lease still names this bridge: asked before each write (cheap, not atomic). */
  readonly stillHolds: () => Promise<boolean>;
  /** How long one publish waits for JetStream's acknowledgement. */
  readonly publishTimeoutMs: number;
}

/** JetStream's "wrong last sequence": the stream moved on since this sink last wrote. */
const WRONG_LAST_SEQUENCE = 10071;

/**
 * A JetStream stream as a bridge's destination: an event is one message whose
 * body is the pub/sub payload byte for byte; a gap record is a message with an
 * empty body and the record's JSON in the `Tidings-Gap` header.
 *
 * JetStream has no script to check the Redis lease atomically with the
 * append, so the fence is JetStream's own optimistic concurrency: every
 * publish expects the stream's last sequence to be the one this sink last
 * saw (read afresh when the bridge takes over). A frozen bridge that wakes
 * after its successor wrote anything is refused (`fenced`), however late,
 * also when its last publish failed without an answer (it settles first
 * whether that one went in, from the stream's end and its message ID).
 * The price: publishes go one at a time, each waiting for its predecessor's
 * acknowledgement, and the bridge must be the stream's only writer.
 */
export class JetStreamSink implements BridgeSink {
  readonly #options: JetStreamSinkOptions;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  /** The stream's last sequence as this sink knows it; undefined until read at a takeover. */
  #expected: number | undefined;
  /** A publish that failed without an answer: it may or may not be in the stream. Settled before the next one. */
  #uncertain: { readonly msgID: string; readonly after: number } | undefined;
  readonly #idPrefix = randomBytes(4).toString('hex');
  #counter = 0;

  constructor(options: JetStreamSinkOptions) {
    this.#options = options;
  }

  /** Whether the NATS connection is up (for the bridge's readiness). */
  get connected(): boolean {
    return this.#nc !== undefined && !this.#nc.isClosed() && !this.#disconnected;
  }
  #disconnected = false;

  /** Connects and creates (or checks) the stream; rejects when NATS cannot be reached or the stream differs. */
  async open(): Promise<void> {
    const nc = await connect({
      servers: this.#options.servers,
      name: `tidings-bridge ${this.#options.bridgeId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2_000,
      maxPingOut: 2,
      timeout: 2_000,
    });
    try {
      this.#jsm = await jetstreamManager(nc, { checkAPI: false, timeout: this.#options.publishTimeoutMs });
      this.#js = jetstream(nc, { timeout: this.#options.publishTimeoutMs });
      await ensureStream(this.#jsm, this.#options.stream, this.#options.subject, this.#options.limits);
    } catch (error) {
      await nc.close().catch(() => {});
      throw error;
    }
    this.#nc = nc;
    void this.#watch(nc);
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.#disconnected = true;
      else if (s.type === 'reconnect') this.#disconnected = false;
    }
  }

  /** The bridge took over (or lost its turn): the next write reads the stream's last sequence afresh. */
  takeover(): void {
    this.#expected = undefined;
    this.#uncertain = undefined;
  }

  async close(): Promise<void> {
    await this.#nc?.close().catch(() => {});
  }

  async writeEvents(payloads: readonly Buffer[]): Promise<SinkOutcome> {
    if (!(await this.#options.stillHolds())) return 'fenced';
    for (const payload of payloads) {
      if ((await this.#publish(payload, undefined)) === 'fenced') return 'fenced';
    }
    return 'written';
  }

  async writeGap(gap: GapRecord): Promise<SinkOutcome> {
    if (!(await this.#options.stillHolds())) return 'fenced';
    const h = headers();
    h.set(GAP_HEADER, gapRecordText(gap));
    return this.#publish(new Uint8Array(0), h);
  }

  async lastEntryTime(): Promise<Date | undefined> {
    const { state } = await this.#manager().streams.info(this.#options.stream);
    if (state.messages === 0) return undefined;
    return new Date(state.last_ts);
  }

  #manager(): JetStreamManager {
    if (this.#jsm === undefined) throw new Error('the JetStream sink is not open');
    return this.#jsm;
  }

  async #publish(body: Uint8Array, h: ReturnType<typeof headers> | undefined): Promise<SinkOutcome> {
    const js = this.#js;
    if (js === undefined) throw new Error('the JetStream sink is not open');
    if (this.#uncertain !== undefined && !(await this.#settle(this.#uncertain))) return 'fenced';
    this.#expected ??= (await this.#manager().streams.info(this.#options.stream)).state.last_seq;
    const expected = this.#expected;
    const msgID = `${this.#options.bridgeId}:${this.#idPrefix}:${++this.#counter}`;
    try {
      const ack = await js.publish(this.#options.subject, body, {
        msgID,
        expect: { lastSequence: expected, streamName: this.#options.stream },
        timeout: this.#options.publishTimeoutMs,
        retries: 1,
        ...(h === undefined ? {} : { headers: h }),
      });
      this.#expected = ack.seq;
      return 'written';
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return 'fenced';
      // Whether it went in is unknown; the next write finds out before it relies on the sequence.
      this.#uncertain = { msgID, after: expected };
      throw error;
    }
  }

  /**
   * Learns whether the publish that failed went in, without giving up the
   * fence: the stream must end either where it did before that publish, or
   * with that very message right after. Anything else is another writer's.
   * @returns false when another writer appended since (this sink is fenced).
   */
  async #settle(uncertain: { readonly msgID: string; readonly after: number }): Promise<boolean> {
    const { state } = await this.#manager().streams.info(this.#options.stream);
    let settled: number | undefined;
    if (state.last_seq === uncertain.after) settled = uncertain.after;
    else if (state.last_seq === uncertain.after + 1) {
      const last = await this.#manager().streams.getMessage(this.#options.stream, { seq: state.last_seq });
      if (last?.header?.get('Nats-Msg-Id') === uncertain.msgID) settled = state.last_seq;
    }
    this.#uncertain = undefined;
    if (settled === undefined) return false;
    this.#expected = settled;
    return true;
  }
}
