/** What a stream entry holds, by the shared entry format. */
export type StreamEntry =
  | { readonly kind: 'event'; readonly text: string }
  | { readonly kind: 'gap'; readonly record: string }
  | { readonly kind: 'invalid'; readonly why: string };

/** An entry as ioredis returns it: its ID and its fields, flat (`[name, value, name, value, …]`). */
export type RawEntry = [id: string, fields: string[]];

/**
 * Reads one entry: an event has the field `m` (the wire text the pub/sub
 * backend would PUBLISH); a bridge's gap record has `gap` and no `m`;
 * anything else is not ours.
 */
export function readEntry(fields: readonly string[]): StreamEntry {
  // The common case, as Tidings and the bridge write it: one field.
  if (fields.length === 2) {
    if (fields[0] === 'm') return { kind: 'event', text: fields[1] as string };
    if (fields[0] === 'gap') return { kind: 'gap', record: fields[1] as string };
  }
  let gap: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'm') return { kind: 'event', text: fields[i + 1] as string };
    if (fields[i] === 'gap') gap = fields[i + 1];
  }
  if (gap !== undefined) return { kind: 'gap', record: gap };
  return { kind: 'invalid', why: 'the entry has neither an `m` nor a `gap` field' };
}

/** The fields of `XINFO STREAM` that tell what a stream lost and how far it got. */
export interface StreamInfo {
  readonly lastGeneratedId: string;
  /** The largest ID deleted or trimmed (`0-0` when none); Redis ≥ 7.0. */
  readonly maxDeletedId: string;
  readonly length: number;
}

/** Parses `XINFO STREAM`'s flat reply; undefined for a reply that is not one. */
export function readStreamInfo(reply: unknown): StreamInfo | undefined {
  if (!Array.isArray(reply)) return undefined;
  let lastGeneratedId: string | undefined;
  let maxDeletedId = '0-0';
  let length = 0;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (name === 'last-generated-id' && typeof value === 'string') lastGeneratedId = value;
    else if (name === 'max-deleted-entry-id' && typeof value === 'string') maxDeletedId = value;
    else if (name === 'length' && typeof value === 'number') length = value;
  }
  return lastGeneratedId === undefined ? undefined : { lastGeneratedId, maxDeletedId, length };
}

/** True for the reply error of a command on a key that does not exist. */
export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && /no such key/i.test(error.message);
}
