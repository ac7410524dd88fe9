/**
 * A window in which no bridge was copying: what the bridge that takes over
 * (or comes back) writes into the destination before its first copy.
 */
export interface GapRecord {
  /** The id of the bridge writing the record. */
  readonly bridge: string;
  /** When copying stopped: the time of the last entry in the destination. */
  readonly since: Date;
  /** When this bridge's SUBSCRIBE was confirmed: from then on it sees everything. */
  readonly until: Date;
}

/** A write went in (`written`), or was refused because this bridge no longer holds the lease (`fenced`). */
export type SinkOutcome = 'written' | 'fenced';

/**
 * Where a bridge writes: a destination with fencing. A write that comes from
 * a bridge that no longer holds its lease is refused as a whole (`fenced`),
 * so a bridge that was frozen and lost its lease can never add stale copies
 * behind its successor's. Internal: the Redis stream sink checks the lease
 * atomically with the append (a script); the JetStream sink, which cannot,
 * expects the stream's last sequence to be the one it last wrote.
 */
export interface BridgeSink {
  /** Appends the messages, in order, as event entries. */
  writeEvents(payloads: readonly Buffer[]): Promise<SinkOutcome>;
  /** Appends a gap record. */
  writeGap(gap: GapRecord): Promise<SinkOutcome>;
  /** The time of the newest entry in the destination; undefined when it is empty. */
  lastEntryTime(): Promise<Date | undefined>;
}

/** The value of a gap record, as every consumer of the destination parses it. */
export function gapRecordText(gap: GapRecord): string {
  return JSON.stringify({ bridge: gap.bridge, since: gap.since.toISOString(), until: gap.until.toISOString() });
}
