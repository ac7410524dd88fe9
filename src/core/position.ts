import { createHash } from 'node:crypto';
import { PositionError } from '../errors.js';

/** The `from` value that asks for everything retained. */
export const OLDEST = 'oldest';

/** `<kind>.<fingerprint>:<native>`, as every backend writes them. */
const TAGGED = /^[a-z0-9]+\.[A-Za-z0-9_-]+:[^:]+$/;

/** Longest position accepted; anything longer is garbage, refused before any parsing. */
const MAX_POSITION_LENGTH = 200;

/**
 * The prefix that binds a position to one channel of one backend:
 * `<kind>.<fingerprint of the channel>`. The fingerprint is a hash, so two
 * processes reading the same channel (two gateways on one stream) produce the
 * same positions, and a position never shows a channel name.
 */
export function positionTag(kind: string, channel: string): string {
  return `${kind}.${createHash('sha256').update(channel).digest('base64url').slice(0, 10)}`;
}

/**
 * Positions of one channel: `<tag>:<native>` where native is the backend's
 * own cursor (a sequence number, a stream ID).
 */
export class PositionFormat {
  readonly #prefix: string;
  readonly #kind: string;
  readonly #native: RegExp;

  /**
   * @param tag from {@link positionTag} (or any string without `:`).
   * @param native what the backend's own cursor looks like (anchored by the caller).
   */
  constructor(tag: string, native: RegExp) {
    this.#prefix = `${tag}:`;
    this.#kind = tag.slice(0, tag.indexOf('.') >>> 0);
    this.#native = native;
  }

  format(native: string | number): string {
    return this.#prefix + native;
  }

  /**
   * The native cursor inside `position`.
   * @throws {PositionError} `malformed` for garbage, `foreign` for another channel or backend.
   */
  parse(position: unknown): string {
    if (typeof position !== 'string' || position.length > MAX_POSITION_LENGTH) {
      throw new PositionError('malformed', 'a position must be a string of at most 200 characters');
    }
    if (!TAGGED.test(position)) {
      throw new PositionError('malformed', `not a position: ${JSON.stringify(position.slice(0, 40))}`);
    }
    if (!position.startsWith(this.#prefix)) {
      const sameKind = position.startsWith(`${this.#kind}.`);
      throw new PositionError(
        'foreign',
        sameKind
          ? 'the position belongs to another channel (or another instance) of this backend'
          : 'the position belongs to another backend',
      );
    }
    const native = position.slice(this.#prefix.length);
    if (!this.#native.test(native)) {
      throw new PositionError('malformed', `not a position: ${JSON.stringify(position.slice(0, 40))}`);
    }
    return native;
  }
}
