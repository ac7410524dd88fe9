import type { ChainableCommander } from 'ioredis';
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

/** A turn of the event loop shorter than this read whatever its sockets held: silence seen after it is Redis'. */
const QUIET_TURN_MS = 5;

/** How a {@link BatchPublisher} reports what it cannot handle itself. */
export interface BatchPublisherOptions {
  /** Called once, when Redis refuses the script and publishing switches to PUBLISH for good. */
  onScriptsRefused(error: Error): void;
  /**
   * How long Redis may leave every sent batch unanswered (no answer at all,
   * to any of them) before they all fail. A long burst that Redis is still
   * working through keeps answering, so only a hung server or connection
   * trips it. @default Infinity
   */
  answerTimeoutMs?: number | undefined;
  /**
   * Redis answered nothing for `answerTimeoutMs`: returns the error the
   * `unanswered` messages fail with. The caller should drop the connection.
   */
  onNoAnswer?: ((unanswered: number) => Error) | undefined;
  /**
   * What the fallback pipeline sends per message, and what its reply counts
   * as. @default PUBLISH, its reply being the receivers
   */
  fallback?: PipelineFallback | undefined;
}

/** How a batch is sent where scripts are refused: one command per message in a pipeline. */
export interface PipelineFallback {
  /** Queues one message's command on `pipeline`. */
  queue(pipeline: ChainableCommander, target: string, text: string): void;
  /** The number a command's reply stands for (receivers, entries added). */
  count(reply: unknown): number;
}

const PUBLISH_FALLBACK: PipelineFallback = {
  queue: (pipeline, channel, text) => pipeline.publish(channel, text),
  count: (reply) => Number(reply),
};

/** A batch sent to Redis and not yet settled. */
interface Flight<M> {
  readonly batch: M[];
  readonly startedAt: number;
  readonly sentAt: number;
  /** Counted in `#scriptsInFlight`. */
  readonly script: boolean;
}

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
 *
 * Every batch settles exactly once: answered, failed by Redis, or failed by
 * {@link BatchPublisher.failUnanswered} when its connection is gone or hung.
 */
export class BatchPublisher<M extends BatchMessage> {
  readonly #connection: BatchingConnection;
  readonly #channel: string;
  readonly #answer: BatchAnswer<M>;
  readonly #options: BatchPublisherOptions;
  readonly #answerTimeoutMs: number;
  #batch: M[] = [];
  #startedAt = 0;
  #scheduled = false;
  #scripted = true;
  /** Script batches sent and not yet answered. */
  #scriptsInFlight = 0;
  /** Batches made after scripts were refused, waiting for the refused ones to be resent first. */
  #held: Array<{ batch: M[]; startedAt: number }> = [];
  /** Batches sent and not yet settled, oldest first. */
  #unanswered = new Set<Flight<M>>();
  /** When Redis last answered a batch (`performance.now()`). */
  #lastAnswerAt = 0;
  /** The timer that checks for answers, or the look again after I/O it scheduled. */
  #watchdog: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(connection: BatchingConnection, channel: string, answer: BatchAnswer<M>, options: BatchPublisherOptions) {
    this.#connection = connection;
    this.#channel = channel;
    this.#answer = answer;
    this.#options = options;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? Number.POSITIVE_INFINITY;
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

  /**
   * Fails every batch sent and not yet answered with `error`: the connection
   * they went out on is gone or hung, so no answer is coming. Redis may
   * still have published some of them; none is sent again.
   */
  failUnanswered(error: Error): void {
    if (this.#unanswered.size === 0) return;
    const flights = [...this.#unanswered];
    this.#unanswered.clear(); // settled: answers that still come are ignored
    for (const flight of flights) if (flight.script) this.#scriptsInFlight--;
    for (const flight of flights) this.#answer(flight.batch, error, flight.startedAt);
    this.#releaseHeld();
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
    const flight = this.#track(batch, startedAt, true);
    this.#scriptsInFlight++;
    this.#connection.tidingsPublish(this.#channel, ...batch.map((message) => message.text)).then(
      (counts) => {
        if (!this.#settle(flight)) return;
        this.#scriptDone();
        this.#answer(batch, counts, startedAt);
      },
      (error: unknown) => {
        if (!this.#settle(flight)) return;
        // Refused, the script did not run: nothing of this batch went out, so it can be sent again without it.
        if (error instanceof Error && error.name === 'ReplyError' && SCRIPTS_REFUSED.test(error.message)) {
          if (this.#scripted) {
            this.#scripted = false;
            this.#options.onScriptsRefused(error);
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
    this.#scriptsInFlight--;
    this.#releaseHeld();
  }

  /** Sends the held batches once no refused script batch is left to resend before them. */
  #releaseHeld(): void {
    if (this.#scriptsInFlight > 0 || this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const { batch, startedAt } of held) this.#send(batch, startedAt);
  }

  /** Sends a batch as a pipeline of PUBLISH commands, in one write. */
  #pipelined(batch: M[], startedAt: number): void {
    const flight = this.#track(batch, startedAt, false);
    const pipeline = this.#connection.pipeline();
    const fallback = this.#options.fallback ?? PUBLISH_FALLBACK;
    for (const message of batch) fallback.queue(pipeline, this.#channel, message.text);
    pipeline.exec().then(
      (results) => {
        if (!this.#settle(flight)) return;
        const failure = results?.find(([error]) => error)?.[0];
        if (failure) this.#answer(batch, failure, startedAt);
        else this.#answer(batch, results?.map(([, reply]) => fallback.count(reply)) ?? [], startedAt);
      },
      (error: unknown) => {
        if (this.#settle(flight)) this.#answer(batch, asError(error), startedAt);
      },
    );
  }

  #track(batch: M[], startedAt: number, script: boolean): Flight<M> {
    const flight: Flight<M> = { batch, startedAt, sentAt: performance.now(), script };
    this.#unanswered.add(flight);
    if (this.#watchdog === undefined && Number.isFinite(this.#answerTimeoutMs)) this.#arm(this.#answerTimeoutMs);
    return flight;
  }

  /** Settles an answered flight; false when it already was (failed as unanswered). */
  #settle(flight: Flight<M>): boolean {
    if (!this.#unanswered.delete(flight)) return false;
    this.#lastAnswerAt = performance.now();
    return true;
  }

  /** Whether the unanswered flights are past their time; when not, re-arms the timer (or leaves it off when none). */
  #overdue(): boolean {
    const oldest = this.#unanswered.values().next();
    if (oldest.done) return false;
    const due = Math.max(oldest.value.sentAt, this.#lastAnswerAt) + this.#answerTimeoutMs;
    const now = performance.now();
    if (now >= due) return true;
    this.#arm(due - now);
    return false;
  }

  #arm(delayMs: number): void {
    this.#watchdog = setTimeout(this.#checkAnswers, delayMs);
    this.#watchdog.unref(); // never what keeps a process alive
  }

  /**
   * One timer for all flights: fails them only when Redis has answered
   * nothing for the whole timeout. Silence counts only while this process
   * was listening: a timer that finds the time up looks again after the
   * event loop has read its sockets (`setImmediate` runs after I/O), and
   * again for as long as that reading kept the loop busy (a flood on a
   * subscriber connection of the same process), so answers Redis sent while
   * Node was busy elsewhere are read before anything is failed.
   */
  #checkAnswers = (): void => {
    this.#watchdog = undefined;
    if (this.#overdue()) this.#lookAgainAfterIo(performance.now());
  };

  #lookAgainAfterIo(since: number): void {
    this.#watchdog = setImmediate(this.#confirmNoAnswer, since);
  }

  #confirmNoAnswer = (since: number): void => {
    this.#watchdog = undefined;
    if (!this.#overdue()) return;
    const now = performance.now();
    if (now - since > QUIET_TURN_MS) {
      this.#lookAgainAfterIo(now); // the loop was busy: what Redis sent meanwhile may still be unread
      return;
    }
    let unanswered = 0;
    for (const flight of this.#unanswered) unanswered += flight.batch.length;
    const error =
      this.#options.onNoAnswer?.(unanswered) ?? new Error(`Redis answered nothing for ${this.#answerTimeoutMs} ms`);
    this.failUnanswered(error);
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
