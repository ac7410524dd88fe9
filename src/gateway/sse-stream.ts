import type { ServerResponse } from 'node:http';
import type { Gap, Subscription } from '../core/contract.js';
import { type PositionProblem, SlowConsumerError } from '../errors.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';
import type { FrameCache } from './frame-cache.js';
import { formatSseMessage } from './sse-writer.js';

/** Why a stream ended. */
export type StreamEndReason =
  /** The client went away. */
  | 'client-closed'
  /** The client did not read fast enough: its backlog or its subscription overflowed. */
  | 'slow-client'
  /** The subscription ended (its service closed). */
  | 'subscription-ended'
  /** The gateway is shutting down. */
  | 'server-closing'
  /** Writing to the socket failed. */
  | 'write-error'
  /** The credential the stream was opened with expired; the client reconnects with a fresh one. */
  | 'token-expired';

/** What an {@link SseStream} needs. */
export interface SseStreamOptions<T extends object> {
  readonly response: ServerResponse;
  readonly subscription: Subscription<T>;
  readonly frames: FrameCache<T>;
  readonly scheduler: FlushScheduler;
  /** Headers of the 200 response (SSE headers plus e.g. CORS). */
  readonly headers: Record<string, string | number | readonly string[]>;
  /** Written first, at once. */
  readonly helloFrame: Buffer;
  /**
   * Written right after the hello, ahead of any event: the gap notice of a
   * resume that could not be honoured (see {@link resumeGapFrame}).
   */
  readonly firstFrame?: Buffer | undefined;
  /** Written every `pingIntervalMs`. */
  readonly pingFrame: Buffer;
  readonly pingIntervalMs: number;
  /**
   * Frames the gateway holds for this client while its socket is full. One
   * more and the client is disconnected as too slow. Frames are shared
   * between clients, so this costs a pointer per frame, not a copy.
   */
  readonly maxBacklog: number;
  /**
   * Bytes the gateway holds for this client: frames queued for it plus what
   * its socket has not yet handed to the kernel. One byte more and the client
   * is disconnected as too slow, so a few large events cannot pin unbounded
   * memory the way a frame count would let them.
   */
  readonly maxBacklogBytes: number;
  /**
   * Whether this client may see `event`; asked once per event read, and an
   * event it refuses is never written. Pings, gaps and backend news always
   * pass. Absent: every event passes.
   */
  readonly mayShow?: (event: T) => boolean;
  /** When the client's credential expires, in ms since the epoch: the stream ends then (`token-expired`). */
  readonly expiresAt?: number;
  /** Called once when the stream has ended. */
  readonly onEnd: (reason: StreamEndReason, error?: unknown) => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The SSE event that tells a client it missed events and should re-fetch. */
export function gapFrame(gap: Gap): Buffer {
  return Buffer.from(formatSseMessage({ event: 'gap', data: JSON.stringify(gap) }), 'utf8');
}

/**
 * The gap event for a `Last-Event-ID` the gateway cannot resume from (another
 * gateway's or a restarted one's position, garbage, or one ahead of what it
 * knows): `{"reason":"unknown-position","problem":...,"dropped":0}`. The
 * stream then goes live from now; what was missed is unknown.
 */
export function resumeGapFrame(problem: PositionProblem | 'unsupported'): Buffer {
  const notice = { reason: 'unknown-position', problem, dropped: 0 };
  return Buffer.from(formatSseMessage({ event: 'gap', data: JSON.stringify(notice) }), 'utf8');
}

/**
 * One client's event stream: reads its subscription, queues shared frames,
 * and writes them in coalesced batches, respecting socket backpressure.
 *
 * Memory per client stays bounded: the subscription's buffer (it is opened
 * with `overflow: "evict"`), at most `maxBacklog` frame references and
 * `maxBacklogBytes` bytes (queued frames plus the socket's unsent buffer).
 * Past that the client is disconnected instead of being allowed to grow.
 *
 * Frames are shared and written without a per-client copy, so once its
 * socket is full a client that stopped reading costs the event loop a pointer
 * push and a comparison per event until it is shed: a crowd of stalled
 * clients cannot make the gateway fall behind its own backend subscription.
 */
export class SseStream<T extends object> implements Flushable {
  readonly #o: SseStreamOptions<T>;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #blocked = false;
  #ended = false;
  /** Resolves the pump's wait for the socket to drain (while it replays). */
  #drained: (() => void) | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;

  constructor(options: SseStreamOptions<T>) {
    this.#o = options;
  }

  /** True once the stream ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sends the headers and the hello frame, then streams until the client, the subscription or the gateway ends it. */
  start(): void {
    const res = this.#o.response;
    res.on('close', this.#onClose);
    res.on('error', this.#onError);
    res.on('drain', this.#onDrain);
    res.writeHead(200, this.#o.headers as Record<string, string | number | string[]>);
    this.#enqueue(this.#o.helloFrame);
    if (this.#o.firstFrame !== undefined) this.#enqueue(this.#o.firstFrame);
    this.flush();
    this.#pingTimer = setInterval(this.#ping, this.#o.pingIntervalMs);
    this.#armExpiry();
    void this.#pump();
  }

  /** Sends `frame` now, ahead of events not yet read from the subscription (news about the backend). */
  notify(frame: Buffer): void {
    this.#enqueue(frame);
  }

  /** Sends the gap the subscription has reached, if any, now rather than before the next event or ping. */
  sendGap(): void {
    const gap = this.#o.subscription.takeGap();
    if (gap !== undefined) this.#enqueue(gapFrame(gap));
  }

  /** Ends the stream from the server side (shutdown): the response finishes cleanly. */
  close(): void {
    this.#finish('server-closing');
  }

  /** Writes what is queued as one socket write; called by the shared {@link FlushScheduler}. */
  flush(): void {
    if (this.#ended || this.#blocked || this.#chunks.length === 0) return;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    const res = this.#o.response;
    // Corked writes leave as one writev of the shared frames: no per-client copy.
    res.cork();
    let below = true;
    for (const chunk of chunks) below = res.write(chunk);
    res.uncork();
    // false: the socket buffer is above its high-water mark; hold frames until 'drain'.
    if (!below) this.#blocked = true;
  }

  async #pump(): Promise<void> {
    const sub = this.#o.subscription;
    const frames = this.#o.frames;
    const mayShow = this.#o.mayShow;
    try {
      for (;;) {
        // Checked before each read: a gap is visible only once every event
        // from before the loss has been read, so it is never sent ahead of one
        // of them (at worst one event late, which keeps a re-fetch safe).
        this.sendGap();
        const result = await sub.next();
        if (result.done || this.#ended) break;
        if (mayShow === undefined || mayShow(result.value)) this.#enqueue(frames.frame(result.value, sub.position));
        // History waits without loss: a long replay goes at the client's pace, not into the backlog.
        if (this.#blocked && sub.replaying) {
          await new Promise<void>((resolve) => {
            this.#drained = resolve;
          });
          if (this.#ended) break;
        }
      }
      this.#finish('subscription-ended');
    } catch (error) {
      this.#finish(error instanceof SlowConsumerError ? 'slow-client' : 'write-error', error);
    }
  }

  #enqueue(frame: Buffer): void {
    if (this.#ended) return;
    this.#chunks.push(frame);
    this.#bytes += frame.length;
    if (!this.#blocked) {
      this.#o.scheduler.mark(this);
    } else if (
      this.#chunks.length > this.#o.maxBacklog ||
      this.#bytes + this.#o.response.writableLength > this.#o.maxBacklogBytes
    ) {
      this.#finish('slow-client');
    }
  }

  // setTimeout fires at once beyond 2^31-1 ms (about 24.8 days): a longer life is waited out in steps.
  #armExpiry = (): void => {
    const expiresAt = this.#o.expiresAt;
    if (expiresAt === undefined || this.#ended) return;
    const left = expiresAt - Date.now();
    if (left <= 0) this.#finish('token-expired');
    else this.#expiryTimer = setTimeout(this.#armExpiry, Math.min(left, MAX_TIMER_MS));
  };

  #ping = (): void => {
    this.sendGap();
    this.#enqueue(this.#o.pingFrame);
  };

  #onDrain = (): void => {
    this.#blocked = false;
    this.#wake();
    if (this.#chunks.length > 0) this.#o.scheduler.mark(this);
  };

  #onClose = (): void => {
    this.#finish('client-closed');
  };

  #onError = (error: unknown): void => {
    this.#finish('write-error', error);
  };

  #wake(): void {
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }

  #finish(reason: StreamEndReason, error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake();
    clearInterval(this.#pingTimer);
    clearTimeout(this.#expiryTimer);
    this.#o.scheduler.forget(this);
    this.#chunks = [];
    this.#bytes = 0;
    // Releases the subscription at once: the service forgets this client now.
    void this.#o.subscription.close();
    const res = this.#o.response;
    res.off('close', this.#onClose);
    res.off('drain', this.#onDrain);
    // Keep an error listener: a late socket error must not crash the process.
    if (reason === 'server-closing' || reason === 'subscription-ended' || reason === 'token-expired') {
      res.end();
    } else if (!res.destroyed) {
      // A slow or broken client: drop its socket and whatever is still buffered for it.
      res.destroy();
    }
    this.#o.onEnd(reason, error);
  }
}
