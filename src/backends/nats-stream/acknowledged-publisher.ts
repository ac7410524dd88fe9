import type { JetStreamClient, JetStreamPublishOptions, PubAck } from '@nats-io/jetstream';
import { type MsgHdrs, nuid } from '@nats-io/transport-node';
import { PublishError } from '../../errors.js';

/** One publish attempt's wait for its acknowledgement; the next attempt carries the same message ID. */
const ATTEMPT_TIMEOUT_MS = 2_000;

/** What an {@link AcknowledgedPublisher} publishes to, and how long it may try. */
export interface AcknowledgedPublisherOptions {
  readonly subject: string;
  /** The stream that must acknowledge: an acknowledgement from another one is an error. */
  readonly stream: string;
  readonly timeoutMs: number;
  readonly maxPending: number;
  /** The client, once connected and the stream checked; called until it resolves once. */
  ready(deadline: number): Promise<JetStreamClient>;
  /** True once the service closed: no more attempts. */
  closed(): boolean;
}

/**
 * Publishes to a JetStream subject until the stream acknowledges, with a
 * fresh message ID per event that every retry repeats, so an event whose
 * acknowledgement was lost is stored once (within the stream's duplicate
 * window). Bounded in time (`timeoutMs` per event) and in number (at most
 * `maxPending` waiting for an acknowledgement; beyond that it fails at once).
 */
export class AcknowledgedPublisher {
  readonly #options: AcknowledgedPublisherOptions;
  #js: JetStreamClient | undefined;
  #pending = 0;

  constructor(options: AcknowledgedPublisherOptions) {
    this.#options = options;
  }

  /**
   * Resolves on the stream's acknowledgement.
   * @throws {PublishError} when too many wait already, or none came in time.
   */
  publish(text: string, headers: MsgHdrs | undefined): Promise<void> {
    if (this.#pending >= this.#options.maxPending) {
      return Promise.reject(
        new PublishError(
          `${this.#pending} publishes already wait for JetStream's acknowledgement; not waiting for more`,
        ),
      );
    }
    this.#pending++;
    // Written with `then` rather than `await`: it runs once per event, and every saved promise shows in throughput.
    return this.#store(text, nuid.next(), headers).then(
      () => {
        this.#pending--;
      },
      (error: unknown) => {
        this.#pending--;
        throw error;
      },
    );
  }

  #store(text: string, msgID: string, headers: MsgHdrs | undefined): Promise<void> {
    const deadline = Date.now() + this.#options.timeoutMs;
    const js = this.#js;
    if (js === undefined) {
      return this.#options.ready(deadline).then((ready) => {
        this.#js = ready;
        return this.#storeUntil(ready, text, msgID, headers, deadline);
      });
    }
    return js.publish(this.#options.subject, text, this.#attempt(msgID, headers, deadline)).then(
      (ack) => this.#check(ack),
      (error: unknown) => this.#storeUntil(js, text, msgID, headers, deadline, error),
    );
  }

  /** The slow path: retries (same message ID) until acknowledged or the deadline passes. */
  async #storeUntil(
    js: JetStreamClient,
    text: string,
    msgID: string,
    headers: MsgHdrs | undefined,
    deadline: number,
    firstError?: unknown,
  ): Promise<void> {
    let lastError = firstError;
    for (let attempt = firstError === undefined ? 0 : 1; ; attempt++) {
      if (attempt > 0) {
        if (lastError instanceof PublishError) throw lastError;
        // No responders (a stream leader being elected) answers at once: wait a little before the next try.
        const pause = Math.min(50 * 2 ** attempt, 500, deadline - Date.now());
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
      if (deadline - Date.now() <= 0 || this.#options.closed()) break;
      try {
        this.#check(await js.publish(this.#options.subject, text, this.#attempt(msgID, headers, deadline)));
        return;
      } catch (error) {
        lastError = error;
      }
    }
    const why = lastError instanceof Error ? `: ${lastError.message}` : '';
    throw new PublishError(`JetStream did not acknowledge the publish within ${this.#options.timeoutMs} ms${why}`, {
      cause: lastError,
    });
  }

  /** An attempt shorter than the whole budget: a leader that stopped answering is replaced within seconds. */
  #attempt(msgID: string, headers: MsgHdrs | undefined, deadline: number): Partial<JetStreamPublishOptions> {
    const options: Partial<JetStreamPublishOptions> = {
      msgID,
      timeout: Math.max(1, Math.min(deadline - Date.now(), ATTEMPT_TIMEOUT_MS)),
      retries: 0,
    };
    if (headers !== undefined) options.headers = headers;
    return options;
  }

  #check(ack: PubAck): void {
    if (ack.stream !== this.#options.stream) {
      throw new PublishError(`the subject is stored by stream ${ack.stream}, not ${this.#options.stream}`);
    }
  }
}
