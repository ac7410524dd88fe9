import type { Attributes } from '@opentelemetry/api';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A metric reader that collects on demand, for exact assertions. */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A real OpenTelemetry SDK that keeps everything in memory. */
export function testTelemetry() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });

  /** The sum (or last value) of metric `name` over the points whose attributes include `match`. */
  const metric = async (name: string, match: Attributes = {}): Promise<number> => {
    const { resourceMetrics } = await reader.collect();
    let total = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const data of scope.metrics) {
        if (data.descriptor.name !== name) continue;
        for (const point of data.dataPoints as DataPoint<unknown>[]) {
          const fits = Object.entries(match).every(([key, value]) => point.attributes[key] === value);
          if (!fits) continue;
          const value = point.value;
          total += typeof value === 'number' ? value : ((value as { count?: number }).count ?? 0);
        }
      }
    }
    return total;
  };

  return {
    tracerProvider,
    meterProvider,
    spans,
    metric,
    shutdown: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]),
  };
}
