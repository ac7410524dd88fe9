import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { openSse, until } from '../../test/support/sse-client.js';
import { publishIngestEvent } from '../monitor/publish-helpers.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { createMonitorGateway } from './monitor-gateway.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';

const TOKEN = 'metrics-test-token';

/** The value of the first sample of `name` whose labels include every `label="value"` given. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('gateway metrics endpoint', () => {
  it('is off unless configured', async () => {
    const ingest = newIngestEventServiceInMem();
    const gateway = createMonitorGateway({ ingest, tokens: [{ token: TOKEN }] });
    const url = await gateway.listen();
    try {
      assert.equal((await fetch(`${url}/metrics`)).status, 404);
    } finally {
      await gateway.close();
      await ingest.close();
    }
  });

  it('serves the services counters in Prometheus text format', async () => {
    const metrics = createPrometheusMetrics();
    const ingest = newIngestEventServiceInMem({ meterProvider: metrics.meterProvider });
    const storage = newStorageEventServiceInMem({ meterProvider: metrics.meterProvider });
    const gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }], metrics });
    const url = await gateway.listen();
    after(async () => {
      await gateway.close();
      await Promise.all([ingest.close(), storage.close()]);
      await metrics.shutdown();
    });

    const client = await openSse(`${url}/ingest/monitor`, { authorization: `Bearer ${TOKEN}` });
    await until(() => ingest.liveSubscriptions === 1);
    for (let i = 0; i < 3; i++) {
      publishIngestEvent(ingest, 'sip_status_updated_event', { uuid: randomUUID(), status: 'processing' });
    }
    await client.waitFor((messages) => messages.length >= 4);

    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    const ingestLabels = { messaging_destination_name: 'ingest' };
    assert.equal(sample(text, 'messaging_client_sent_messages_total', ingestLabels), 3, text);
    assert.equal(sample(text, 'tidings_deliveries_total', ingestLabels), 3);
    assert.equal(sample(text, 'tidings_subscriptions_live', ingestLabels), 1);
    assert.equal(sample(text, 'tidings_dropped_total', { ...ingestLabels, tidings_drop_reason: 'overflow' }), 0);
    assert.ok(!text.includes(TOKEN), 'no token in metrics');
    client.close();
  });
});
