import type { BackendState, BackendStatus, EventService } from '../core/contract.js';
import type { Logger } from '../core/logger.js';
import { READY } from '../core/status-listeners.js';
import { formatSseMessage } from './sse-writer.js';

/** What a stream's clients are told about its backend. */
export type BackendNews = { readonly state: 'lost'; readonly reason?: string } | { readonly state: 'restored' };

/**
 * The SSE event that tells a client its stream's backend was lost or is back.
 * Named (`event: backend`), so clients that listen only to unnamed messages,
 * as Enduro's dashboard does, never see it.
 */
export function backendFrame(news: BackendNews): Buffer {
  return Buffer.from(formatSseMessage({ event: 'backend', data: JSON.stringify(news) }), 'utf8');
}

/** What a {@link BackendWatch} needs of a client's stream. */
export interface BackendNewsReceiver {
  /** Sends `frame` now. */
  notify(frame: Buffer): void;
  /** Sends the gap its subscription has reached, if any, now. */
  sendGap(): void;
}

const RESTORED = backendFrame({ state: 'restored' });

/**
 * Watches one stream's event service for the gateway: answers whether it is
 * ready (for `/readyz`) and tells that stream's clients when the backend is
 * lost and when it is back, with the gap, at that moment rather than with the
 * next event or ping.
 *
 * Watching is what keeps a Redis service subscribed while no client is
 * connected (see {@link EventService.onStatus}), so readiness means a client
 * connecting now is live at once, and an outage is seen even with no client.
 * That costs one SUBSCRIBE per stream, which the first client would make
 * anyway, and, unlike a subscription of the gateway's own, no fan-out entry
 * and no read loop per event. A service without `status` counts as ready.
 */
export class BackendWatch {
  readonly #service: EventService<object>;
  readonly #scope: string;
  readonly #logger: Logger;
  readonly #clients = new Set<BackendNewsReceiver>();
  #previous: BackendState = 'ready';
  #stop: (() => void) | undefined;

  constructor(scope: string, service: EventService<object>, logger: Logger) {
    this.#scope = scope;
    this.#service = service;
    this.#logger = logger;
  }

  /** Where the backend stands now. */
  get status(): BackendStatus {
    return this.#service.status ?? READY;
  }

  /** Starts watching (idempotent). */
  start(): void {
    if (this.#stop !== undefined) return;
    this.#stop = this.#service.onStatus?.(this.#changed) ?? (() => {});
    this.#previous = this.status.state;
  }

  /** Stops watching and forgets the clients. Idempotent. */
  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#clients.clear();
  }

  /** A client of this stream, to be told about the backend until {@link remove}. */
  add(client: BackendNewsReceiver): void {
    this.#clients.add(client);
  }

  remove(client: BackendNewsReceiver): void {
    this.#clients.delete(client);
  }

  #changed = (status: BackendStatus): void => {
    const was = this.#previous;
    this.#previous = status.state;
    if (was === 'ready' && (status.state === 'down' || status.state === 'connecting')) {
      this.#logger.warn(
        { stream: this.#scope, reason: status.reason, clients: this.#clients.size },
        'monitor stream backend lost; its clients were told',
      );
      const frame = backendFrame(
        status.reason === undefined ? { state: 'lost' } : { state: 'lost', reason: status.reason },
      );
      for (const client of this.#clients) client.notify(frame);
    } else if (status.state === 'ready' && (was === 'down' || was === 'connecting')) {
      this.#logger.info(
        { stream: this.#scope, clients: this.#clients.size },
        'monitor stream backend ready; its clients were told, with what they missed',
      );
      for (const client of this.#clients) {
        client.notify(RESTORED);
        client.sendGap();
      }
    }
  };
}

/** What `GET /readyz` answers. */
export interface Readiness {
  readonly statusCode: 200 | 503;
  readonly body: {
    readonly status: 'ready' | 'unavailable';
    /** Why not ready: each stream that is not, with its backend's reason. */
    readonly reason?: string;
    readonly backends: Readonly<Record<string, BackendStatus>>;
  };
}

/** Ready when every stream's backend is, and the gateway is not shutting down. */
export function readiness(watches: ReadonlyMap<string, BackendWatch>, closing: boolean): Readiness {
  const backends: Record<string, BackendStatus> = {};
  const problems: string[] = closing ? ['gateway is shutting down'] : [];
  for (const [scope, watch] of watches) {
    const status = watch.status;
    backends[scope] = status;
    if (status.state !== 'ready') problems.push(`${scope} ${status.state}${status.reason ? `: ${status.reason}` : ''}`);
  }
  if (problems.length === 0) return { statusCode: 200, body: { status: 'ready', backends } };
  return { statusCode: 503, body: { status: 'unavailable', reason: problems.join('; '), backends } };
}
