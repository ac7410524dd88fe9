import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { millis, nanos } from '@nats-io/transport-node';
import { ConfigError } from '../../errors.js';

/** The limits of the stream a service keeps its channel in. */
export interface StreamLimits {
  readonly maxEvents: number;
  readonly maxAgeMs: number;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
}

/** A literal NATS subject: dot-separated tokens, no wildcards, no whitespace. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
/** What JetStream refuses in a stream name (it becomes part of API subjects and file paths). */
const NOT_IN_STREAM_NAME = /[\s.*>/\\]/g;
const STREAM_NAME = /^[^\s.*>/\\]{1,255}$/;

/** @throws {ConfigError} unless `subject` is a literal subject events can be published to. */
export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || !SUBJECT.test(subject) || subject.length > 1_000) {
    throw new ConfigError(
      `the NATS subject must be a literal subject (tokens separated by ".", no "*", ">" or whitespace), got ${JSON.stringify(String(subject).slice(0, 60))}`,
    );
  }
  return subject;
}

/**
 * The stream name for a subject: the subject with every character a stream
 * name may not hold replaced by `_` (`enduro.ingest.events` →
 * `enduro_ingest_events`). Two subjects that map to one name meet as a
 * subject mismatch in {@link ensureStream}, never silently share a stream.
 */
export function streamNameFor(subject: string): string {
  return subject.replace(NOT_IN_STREAM_NAME, '_');
}

/** @throws {ConfigError} for a name JetStream would refuse. */
export function checkStreamName(name: unknown): string {
  if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
    throw new ConfigError(
      `a JetStream stream name may not be empty or hold ".", "*", ">", "/", "\\" or whitespace, got ${JSON.stringify(String(name).slice(0, 60))}`,
    );
  }
  return name;
}

/**
 * Creates the stream, or checks that the one there is the one asked for.
 * A stream that exists with other subjects or other limits is never
 * rewritten: another service (or an operator) set it up that way, and
 * silently changing retention under them would lose their history.
 * @returns the stream's info, fresh from the server.
 * @throws {ConfigError} when an existing stream differs from what is asked.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  limits: StreamLimits,
): Promise<StreamInfo> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: limits.maxEvents,
    max_age: nanos(limits.maxAgeMs),
    num_replicas: limits.replicas,
    duplicate_window: nanos(limits.duplicateWindowMs),
  };
  let info: StreamInfo;
  try {
    info = await jsm.streams.add(wanted);
  } catch (error) {
    if (!isAlreadyInUse(error)) throw error;
    info = await jsm.streams.info(name);
  }
  const mismatch = differences(info.config, subject, limits);
  if (mismatch.length > 0) {
    throw new ConfigError(
      `the JetStream stream ${name} exists with other settings (${mismatch.join('; ')}); change the service's options to match, or the stream (nats stream edit ${name})`,
    );
  }
  return info;
}

function differences(config: StreamConfig, subject: string, limits: StreamLimits): string[] {
  const out: string[] = [];
  if (!config.subjects?.includes(subject))
    out.push(`subjects ${JSON.stringify(config.subjects ?? [])}, not ${subject}`);
  if (config.max_msgs !== limits.maxEvents) out.push(`max_msgs ${config.max_msgs}, not ${limits.maxEvents}`);
  if (millis(config.max_age) !== limits.maxAgeMs)
    out.push(`max_age ${millis(config.max_age)} ms, not ${limits.maxAgeMs}`);
  if (config.num_replicas !== limits.replicas) out.push(`replicas ${config.num_replicas}, not ${limits.replicas}`);
  if (millis(config.duplicate_window ?? 0) !== limits.duplicateWindowMs) {
    out.push(`duplicate_window ${millis(config.duplicate_window ?? 0)} ms, not ${limits.duplicateWindowMs}`);
  }
  return out;
}

/** JetStream's "stream name already in use" (10058): a stream of that name exists with another config. */
function isAlreadyInUse(error: unknown): boolean {
  if (error instanceof JetStreamApiError && error.code === 10058) return true;
  return error instanceof Error && /already in use/i.test(error.message);
}
