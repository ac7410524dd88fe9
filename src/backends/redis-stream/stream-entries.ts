import { compareIds } from './stream-ids.js';

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

/** The fields of `XINFO STREAM` that tell how far a stream got and what it lost (Redis ≥ 7.0). */
export interface StreamInfo {
  readonly lastGeneratedId: string;
  /** The oldest entry still held (`recorded-first-entry-id`; trimming moves it, XDEL of the head too). */
  readonly firstId: string;
  /** Entries ever appended; more than {@link length} once anything was trimmed or deleted. */
  readonly entriesAdded: number;
  readonly length: number;
}

/** Parses `XINFO STREAM`'s flat reply; undefined for a reply that is not one. */
export function readStreamInfo(reply: unknown): StreamInfo | undefined {
  if (!Array.isArray(reply)) return undefined;
  let lastGeneratedId: string | undefined;
  let firstId = '0-0';
  let entriesAdded = 0;
  let length = 0;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (name === 'last-generated-id' && typeof value === 'string') lastGeneratedId = value;
    else if (name === 'recorded-first-entry-id' && typeof value === 'string') firstId = value;
    else if (name === 'entries-added' && typeof value === 'number') entriesAdded = value;
    else if (name === 'length' && typeof value === 'number') length = value;
  }
  return lastGeneratedId === undefined ? undefined : { lastGeneratedId, firstId, entriesAdded, length };
}

/**
 * Whether Redis may have dropped entries that came after `id`: something
 * was trimmed and `id` lies before the oldest entry held (or, with nothing
 * held, before the last one appended). Trimming only cuts the head, so when
 * `id` is still held nothing after it is gone. When exactly the entry `id`
 * and nothing after it was cut, this says yes: the stream cannot tell.
 */
export function trimmedAfter(info: StreamInfo, id: string): boolean {
  if (info.entriesAdded <= info.length) return false;
  if (info.length === 0) return compareIds(id, info.lastGeneratedId) < 0;
  return compareIds(id, info.firstId) < 0;
}

/** True for the reply error of a command on a key that does not exist. */
export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && /no such key/i.test(error.message);
}
