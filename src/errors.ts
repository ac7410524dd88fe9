/**
 * Every error Tidings raises on purpose is a {@link TidingsError}: match on
 * `code` (stable) or `instanceof` (per class). Misused arguments throw a plain
 * `TypeError` naming the parameter instead.
 */
export class TidingsError extends Error {
  /** Stable machine-readable code, e.g. `ERR_SLOW_CONSUMER`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A subscription with `overflow: "evict"` fell `bufferSize` events behind and
 * was ended. Its iterator yields what was already buffered, then throws this.
 */
export class SlowConsumerError extends TidingsError {
  /** The buffer size the consumer overran. */
  readonly bufferSize: number;

  constructor(bufferSize: number) {
    super('ERR_SLOW_CONSUMER', `subscription evicted: its buffer of ${bufferSize} events was full (slow consumer)`);
    this.bufferSize = bufferSize;
  }
}

/** `subscribe()` was called on a service that is closed (or closing). */
export class ServiceClosedError extends TidingsError {
  constructor() {
    super('ERR_SERVICE_CLOSED', 'event service is closed');
  }
}

/** `subscribe()` was called on a nop service, which never delivers anything. */
export class NopSubscribeError extends TidingsError {
  constructor() {
    super(
      'ERR_NOP_SUBSCRIBE',
      'nop event service cannot subscribe: it discards every event (use an in-memory service to observe events in tests)',
    );
  }
}

/** Why a {@link PositionError} was raised. */
export type PositionProblem = 'malformed' | 'foreign' | 'ahead';

/**
 * `subscribe({ from })` got a position this service cannot resume from:
 * garbage (`malformed`), a position of another channel or backend
 * (`foreign`), or one beyond the newest event the service knows (`ahead`).
 * Never a silent start from now.
 */
export class PositionError extends TidingsError {
  readonly problem: PositionProblem;

  constructor(problem: PositionProblem, message: string) {
    super('ERR_POSITION', message);
    this.problem = problem;
  }
}

/** `subscribe({ from })` on a backend that keeps no history (e.g. Redis pub/sub). */
export class ReplayUnsupportedError extends TidingsError {
  constructor(backend: string) {
    super('ERR_REPLAY_UNSUPPORTED', `${backend} keeps no history: it cannot resume from a position`);
  }
}

/** Invalid service configuration, e.g. a malformed Redis address. */
export class ConfigError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
  }
}

/** The broker did not accept a publish (connection down, timeout, server error). */
export class PublishError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PUBLISH', message, options);
  }
}

/** The broker could not be reached to establish a subscription. */
export class ConnectionError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONNECTION', message, options);
  }
}

/** Why a message could not be decoded. */
export type DecodeFailure = 'not-json' | 'no-envelope' | 'unknown-type' | 'invalid-payload';

/**
 * A message that is not a valid event. Returned (never thrown) by a codec's
 * `decode`; `reason` says which check failed, `path` where (a JSON pointer
 * into the message) for an invalid payload.
 */
export class DecodeError extends TidingsError {
  readonly reason: DecodeFailure;
  /** JSON pointer of the offending value, e.g. `/value/value/item/status`. */
  readonly path: string | undefined;
  /** The event `type` the message claimed, when it got that far. */
  readonly eventType: string | undefined;

  constructor(
    reason: DecodeFailure,
    message: string,
    details: { path?: string; eventType?: string; cause?: unknown } = {},
  ) {
    super('ERR_DECODE', message, { cause: details.cause });
    this.reason = reason;
    this.path = details.path;
    this.eventType = details.eventType;
  }
}

/**
 * A credential was verified but cannot be used: e.g. its attribute claim is
 * missing or not a list (Enduro refuses such a request). The gateway answers
 * 401 and logs the message, which never holds the token.
 */
export class AuthError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AUTH', message, options);
  }
}
