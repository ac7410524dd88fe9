import { type BatchObservableResult, type Histogram, type MeterProvider, metrics } from '@opentelemetry/api';

const SCOPE = 'tidings.bridge';

/** The counts a bridge keeps, read by its status and by the observable instruments. */
export interface BridgeCounts {
  /** Messages copied into the destination. */
  copied: number;
  /** Gap records written. */
  gaps: number;
  /** Times this bridge acquired the lease. */
  takeovers: number;
  /** Messages received but not written: the lease was lost, or a write failed (a gap record follows). */
  discarded: number;
  /** Writes that failed for a reason other than fencing (connection, timeout). */
  writeFailures: number;
}

/**
 * The bridge's OpenTelemetry instruments: counters observed from its counts,
 * the role as a gauge, and the copy lag (receipt of a message to the
 * destination's acknowledgement) as a histogram in seconds.
 */
export class BridgeMetrics {
  readonly #lag: Histogram;
  readonly #lagAttributes: Record<string, string>;
  readonly #close: () => void;

  constructor(
    provider: MeterProvider | undefined,
    attributes: { channel: string; destination: string; bridge: string },
    read: () => { counts: BridgeCounts; active: boolean; pending: number },
  ) {
    const meter = (provider ?? metrics.getMeterProvider()).getMeter(SCOPE);
    const base = {
      'messaging.source.name': attributes.channel,
      'messaging.destination.name': attributes.destination,
      'tidings.bridge.id': attributes.bridge,
    };
    this.#lag = meter.createHistogram('tidings.bridge.lag', {
      description: 'Time from the bridge receiving a message to the destination acknowledging its copy',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5] },
    });
    const copied = meter.createObservableCounter('tidings.bridge.copied', {
      description: 'Messages copied from the channel into the destination',
      unit: '{message}',
    });
    const gaps = meter.createObservableCounter('tidings.bridge.gaps', {
      description: 'Gap records written: windows in which no bridge was copying',
      unit: '{gap}',
    });
    const takeovers = meter.createObservableCounter('tidings.bridge.takeovers', {
      description: 'Times this bridge acquired the lease and became the active one',
      unit: '{takeover}',
    });
    const discarded = meter.createObservableCounter('tidings.bridge.discarded', {
      description: 'Messages received but not written (lease lost, or a failed write, which a gap record then covers)',
      unit: '{message}',
    });
    const failures = meter.createObservableCounter('tidings.bridge.write_failures', {
      description: 'Writes to the destination that failed other than by fencing',
      unit: '{write}',
    });
    const active = meter.createObservableGauge('tidings.bridge.active', {
      description: '1 while this bridge holds the lease and copies, 0 while it stands by',
    });
    const pending = meter.createObservableGauge('tidings.bridge.pending', {
      description: 'Messages received and not yet written',
      unit: '{message}',
    });
    const observables = [copied, gaps, takeovers, discarded, failures, active, pending];
    const callback = (result: BatchObservableResult): void => {
      const now = read();
      result.observe(copied, now.counts.copied, base);
      result.observe(gaps, now.counts.gaps, base);
      result.observe(takeovers, now.counts.takeovers, base);
      result.observe(discarded, now.counts.discarded, base);
      result.observe(failures, now.counts.writeFailures, base);
      result.observe(active, now.active ? 1 : 0, base);
      result.observe(pending, now.pending, base);
    };
    meter.addBatchObservableCallback(callback, observables);
    this.#close = () => meter.removeBatchObservableCallback(callback, observables);
    this.#lagAttributes = base;
  }

  /** Records the copy lag of one message, in milliseconds. */
  recordLag(ms: number): void {
    this.#lag.record(ms / 1_000, this.#lagAttributes);
  }

  /** Stops reporting (the bridge closed). */
  close(): void {
    this.#close();
  }
}
