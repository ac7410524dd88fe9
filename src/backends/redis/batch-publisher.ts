import type { BatchingConnection } from './redis-connection.js';

/** A message as the batcher sees it: its wire text. */
export interface BatchMessage {
  readonly text: string;
}

/**
 * What Redis made of one batch: the receivers of each message, in order, or
 * the error that failed all of them. `startedAt` (from `performance.now()`)
 * is when the batch's first message was queued.
 */
export type BatchAnswer<M> = (batch: readonly M[], outcome: readonly number[] | Error, startedAt: number) => void;

/**
 * Replies that mean this server will not run the script at all: an ACL
 * denying the command, EVAL renamed away, a proxy that does not support
 * scripts. Other errors (BUSY, LOADING, a channel the ACL denies, …) fail
 * just that batch.
 */
const SCRIPTS_REFUSED = /^NOPERM.*\bcommand\b|unknown command|not (?:allowed|supported)|disabled/i;

/** Messages per Redis command at most: bounds the time one command holds Redis (under a millisecond). */
export const MAX_BATCH = 512;

/**
 * Publishes every message queued in one turn of the event loop as a single
 * Redis command: a Lua script that PUBLISHes each in order. A publish costs
 * Node several microseconds per command (a command object, a promise, a
 * reply to parse); batched, that cost is paid once per batch, and Redis still
 * delivers every message as its own PUBLISH, so subscribers (Enduro's
 * included) see exactly what they would otherwise.
 *
 * Where Redis refuses scripts (an ACL without `@scripting`, EVAL renamed
 * away), it falls back for good to a pipeline of PUBLISH commands, one write
 * per batch, keeping the order of messages across the switch.
 */
export class BatchPublisher<M extends BatchMessage> {
  readonly #connection: BatchingConnection;
  readonly #channel: string;
  readonly #answer: BatchAnswer<M>;
  readonly #onScriptsRefused: (error: Error) => void;
  #batch: M[] = [];
  #startedAt = 0;
  #scheduled = false;
  #scripted = true;
  /** Script batches sent and not yet answered. */
  #scriptsInFlight = 0;
  /** Batches made after scripts were refused, waiting for the refused ones to be resent first. */
  #held: Array<{ batch: M[]; startedAt: number }> = [];

  constructor(
    connection: BatchingConnection,
    channel: string,
    answer: BatchAnswer<M>,
    onScriptsRefused: (error: Error) => void,
  ) {
    this.#connection = connection;
    this.#channel = channel;
    this.#answer = answer;
    this.#onScriptsRefused = onScriptsRefused;
  }

  /** Queues a message for the batch of this turn of the event loop. */
  add(message: M): void {
    const batch = this.#batch;
    if (batch.length === 0) {
      this.#startedAt = performance.now();
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushScheduled);
      }
    }
    batch.push(message);
    if (batch.length === MAX_BATCH) this.flush();
  }

  /** Sends what is queued now rather than at the end of this turn. */
  flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#send(batch, this.#startedAt);
  }

  #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #send(batch: M[], startedAt: number): void {
    if (!this.#scripted) {
      if (this.#scriptsInFlight > 0) this.#held.push({ batch, startedAt });
      else this.#pipelined(batch, startedAt);
      return;
    }
    this.#scriptsInFlight++;
    this.#connection.tidingsPublish(this.#channel, ...batch.map((message) => message.text)).then(
      (counts) => {
        this.#scriptDone();
        this.#answer(batch, counts, startedAt);
      },
      (error: unknown) => {
        // Refused, the script did not run: nothing of this batch went out, so it can be sent again without it.
        if (error instanceof Error && error.name === 'ReplyError' && SCRIPTS_REFUSED.test(error.message)) {
          if (this.#scripted) {
            this.#scripted = false;
            this.#onScriptsRefused(error);
          }
          this.#pipelined(batch, startedAt);
        } else {
          this.#answer(batch, asError(error), startedAt);
        }
        this.#scriptDone();
      },
    );
  }

  #scriptDone(): void {
    if (--this.#scriptsInFlight > 0 || this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const { batch, startedAt } of held) this.#send(batch, startedAt);
  }

  /** Sends a batch as a pipeline of PUBLISH commands, in one write. */
  #pipelined(batch: M[], startedAt: number): void {
    const pipeline = this.#connection.pipeline();
    for (const message of batch) pipeline.publish(this.#channel, message.text);
    pipeline.exec().then(
      (results) => {
        const failure = results?.find(([error]) => error)?.[0];
        if (failure) this.#answer(batch, failure, startedAt);
        else this.#answer(batch, results?.map(([, receivers]) => Number(receivers)) ?? [], startedAt);
      },
      (error: unknown) => this.#answer(batch, asError(error), startedAt),
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
