import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * Metrics for scraping: an OpenTelemetry meter provider whose reader renders
 * the Prometheus text format on demand. The gateway is an application, so it
 * may bring an SDK; the library itself only ever uses the API.
 */
export interface PrometheusMetrics {
  /** Give this to the services whose metrics should be served. */
  readonly meterProvider: ApiMeterProvider;
  /** Writes the current metrics to `response` in Prometheus text format. */
  serve(request: IncomingMessage, response: ServerResponse): void;
  shutdown(): Promise<void>;
}

/**
 * Creates the meter provider and Prometheus rendering that `serve --metrics`
 * (or a gateway's `metrics` option) exposes on `GET /metrics`.
 */
export function createPrometheusMetrics(): PrometheusMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  return {
    meterProvider,
    serve: (request, response) => exporter.getMetricsRequestHandler(request, response),
    shutdown: () => meterProvider.shutdown(),
  };
}
