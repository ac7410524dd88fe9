import { randomUUID } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { EventService } from '../core/contract.js';

/** What a backend supports beyond the shared contract; cases that need a feature say so when skipped. */
export interface BackendFeatures {
  /** Services created on the same topic see each other's events (a broker in between). */
  readonly crossInstance: boolean;
}

/**
 * How the conformance suite drives one backend. A new backend is added by
 * writing one of these and calling {@link runConformanceSuite} with it.
 */
export interface ConformanceHarness<T> {
  /** Shown in the suite's title. */
  readonly name: string;
  readonly features: BackendFeatures;
  /**
   * A new service on `topic`. Services on different topics never see each
   * other's events; each test uses its own topic, so tests may run in parallel.
   */
  connect(topic: string): Promise<EventService<T>>;
  /**
   * A new service on `topic` that retains about `maxEvents` events, for the
   * replay cases past retention. Only for backends that can replay.
   */
  connectRetaining?(topic: string, maxEvents: number): Promise<EventService<T>>;
  /** The i-th test event. */
  event(i: number): T;
  /** Inverse of {@link event}. */
  indexOf(event: T): number;
  /** Called once after the whole suite. */
  teardown?(): Promise<void>;
}

/** A fresh topic name for one test. */
export function freshTopic(): string {
  return `tidings-conformance-${randomUUID()}`;
}

/**
 * Waits until `condition()` holds, checking after every macrotask (so I/O
 * callbacks run in between), and fails with `what` after `timeoutMs`. A
 * function `what` is called at the deadline, so the failure can show the
 * state it was left in.
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'string' ? what : what()}`);
    }
    await nextMacrotask();
  }
}

/** Opens a service for the duration of `body`, closing it whatever happens. */
export async function withService<T, R>(
  harness: ConformanceHarness<T>,
  body: (service: EventService<T>, topic: string) => Promise<R>,
): Promise<R> {
  const topic = freshTopic();
  const service = await harness.connect(topic);
  try {
    return await body(service, topic);
  } finally {
    await service.close();
  }
}

/** Reads exactly `count` events from an iterator, failing if it ends early. */
export async function take<T>(source: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const result = await source.next();
    if (result.done) throw new Error(`iteration ended after ${out.length} of ${count} events`);
    out.push(result.value);
  }
  return out;
}

/** `[from, from+1, ..., to-1]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
