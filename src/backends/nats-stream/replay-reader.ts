import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { LocalSubscription } from '../../core/subscription.js';
import { isGapRecord } from './gap-header.js';

/** What a {@link ReplayReader} needs from its service. */
export interface ReplaySource<T> {
  /** Stream sequence of the last event the shared live consumer handed to the fan-out. */
  liveLast(): number;
  /** An ephemeral consumer on the stream delivering from `startSeq` on. */
  openConsumer(startSeq: number): Promise<Consumer>;
  /** Removes a consumer from the server; never throws. */
  dropConsumer(consumer: Consumer): Promise<void>;
  /** The stream's oldest retained sequence, fresh from the server. */
  firstSeq(): Promise<number>;
  /** The event a message carries, or undefined (counted and logged by the source) when it is not one. */
  decode(msg: JsMsg): T | undefined;
  position(seq: number): string;
  /** The reader waits for the live consumer to reach `cursor - 1`; call its {@link ReplayReader.refill} then. */
  park(reader: ReplayReader<T>): void;
  /** The reader is done (caught up or its subscription closed). */
  finished(reader: ReplayReader<T>): void;
  /** A read failed; it is retried. */
  failed(error: unknown): void;
}

/** Pause before retrying a failed read, so a server that is away is not hammered. */
const RETRY_MS = 250;
/** How long one fetch waits for messages that should be there (they may have expired meanwhile). */
const FETCH_EXPIRES_MS = 2_000;
/** A fetch still open this long after its expiry is stuck (see `#fetch`). */
const FETCH_STALL_MS = 3 * FETCH_EXPIRES_MS;

/**
 * Feeds one replaying subscription from the stream, through a consumer of
 * its own, in pages no bigger than the room in its buffer. It hands the
 * subscription over to live delivery at the exact sequence the shared live
 * consumer has reached: the check and the hand-over happen in one turn, so
 * no event is both replayed and delivered live, and none is neither.
 */
export class ReplayReader<T> {
  readonly sub: LocalSubscription<T>;
  /** The next stream sequence this subscription needs. */
  #cursor: number;
  #source: ReplaySource<T>;
  #consumer: Consumer | undefined;
  #reading = false;
  #done = false;

  constructor(sub: LocalSubscription<T>, startSeq: number, source: ReplaySource<T>) {
    this.sub = sub;
    this.#cursor = startSeq;
    this.#source = source;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Starts the replay; the subscription calls {@link refill} as it reads. */
  start(): void {
    this.sub.beginReplay(this.refill);
    this.refill();
  }

  /** Reports an `expired` gap for `count` events before the first retained one, and skips them. */
  expired(firstSeq: number): void {
    if (firstSeq <= this.#cursor) return;
    this.sub.reportGap('expired', firstSeq - this.#cursor);
    this.#cursor = firstSeq;
  }

  /** Idempotent while a read is in flight, as `beginReplay` asks. */
  refill = (): void => {
    if (this.#reading || this.#done) return;
    this.#reading = true;
    this.#read().then(
      () => {
        this.#reading = false;
      },
      (error: unknown) => {
        this.#reading = false;
        if (this.#done) return;
        this.#source.failed(error);
        this.#dropConsumer();
        setTimeout(this.refill, RETRY_MS).unref();
      },
    );
  };

  /** Stops reading and removes the consumer (subscription closed, or caught up). */
  finish(): Promise<void> {
    if (this.#done) return Promise.resolve();
    this.#done = true;
    this.#source.finished(this);
    return this.#dropConsumer();
  }

  async #read(): Promise<void> {
    const source = this.#source;
    const sub = this.sub;
    while (!this.#done) {
      if (sub.closed) {
        await this.finish();
        return;
      }
      const live = source.liveLast();
      if (this.#cursor - 1 === live) {
        sub.endReplay();
        await this.finish();
        return;
      }
      if (this.#cursor - 1 > live) {
        source.park(this);
        return;
      }
      const want = Math.min(sub.free, live - this.#cursor + 1);
      if (want <= 0) return; // the buffer is full; reading it calls refill again
      this.#consumer ??= await source.openConsumer(this.#cursor);
      if (this.#done) return;
      const got = await this.#fetch(this.#consumer, want);
      if (got === 0 && !this.#done) {
        // Nothing where the live consumer has been: what is left of the range expired meanwhile.
        this.expired(Math.min(await source.firstSeq(), source.liveLast() + 1));
      }
    }
  }

  async #fetch(consumer: Consumer, want: number): Promise<number> {
    const messages = await consumer.fetch({ max_messages: want, expires: FETCH_EXPIRES_MS });
    // After a reconnect the client asks the consumer's server whether the consumer still exists, and keeps
    // asking while that server is gone: the fetch would never end. Past its own expiry it is given up, and
    // the read starts again from the cursor on a new consumer.
    let stalled = false;
    const watchdog = setTimeout(() => {
      stalled = true;
      messages.stop();
    }, FETCH_STALL_MS);
    let got = 0;
    try {
      got = await this.#take(messages);
    } finally {
      clearTimeout(watchdog);
    }
    if (stalled) throw new Error(`a replay fetch got no answer within ${FETCH_STALL_MS} ms`);
    return got;
  }

  async #take(messages: AsyncIterable<JsMsg> & { stop(): void }): Promise<number> {
    let got = 0;
    for await (const msg of messages) {
      if (this.#done || this.sub.closed) {
        messages.stop();
        break;
      }
      const seq = msg.seq;
      if (seq < this.#cursor) continue;
      got++;
      this.expired(seq);
      this.#cursor = seq + 1;
      if (isGapRecord(msg)) {
        this.sub.reportGap('reconnect');
        continue;
      }
      const event = this.#source.decode(msg);
      if (event !== undefined) this.sub.deliverRetained(event, this.#source.position(seq));
    }
    return got;
  }

  #dropConsumer(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    return consumer === undefined ? Promise.resolve() : this.#source.dropConsumer(consumer);
  }
}
