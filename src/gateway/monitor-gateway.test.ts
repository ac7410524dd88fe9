import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { openSse, until } from '../../test/support/sse-client.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { ingestCodec, storageCodec } from '../monitor/codec.js';
import { publishIngestEvent, publishStorageEvent } from '../monitor/publish-helpers.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { createMonitorGateway } from './monitor-gateway.js';

const TOKEN = 'monitor-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const SECRETS = ['s3-secret-value', 's3-access-key', 's3-session-token', 'sftp-password-value'];

async function start() {
  const ingest = newIngestEventServiceInMem();
  const storage = newStorageEventServiceInMem();
  const gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }], pingIntervalMs: 60_000 });
  const url = await gateway.listen();
  after(async () => {
    await gateway.close();
    await Promise.all([ingest.close(), storage.close()]);
  });
  return { ingest, storage, gateway, url };
}

describe('monitor gateway', () => {
  it('streams ingest events as their exact wire JSON after an ingest ping', async () => {
    const { ingest, url } = await start();
    const client = await openSse(`${url}/ingest/monitor`, auth);
    await until(() => ingest.liveSubscriptions === 1);
    const uuid = randomUUID();
    publishIngestEvent(ingest, 'sip_status_updated_event', { uuid, status: 'processing' });
    await client.waitFor((m) => m.length >= 2);
    assert.equal(client.messages[0]?.data, '{"value":{"type":"ingest_ping_event","value":{"message":"Hello"}}}');
    assert.equal(
      client.messages[1]?.data,
      `{"value":{"type":"sip_status_updated_event","value":{"uuid":"${uuid}","status":"processing"}}}`,
    );
    const decoded = ingestCodec.decode(client.messages[1]?.data ?? '');
    assert.ok(decoded.ok);
    client.close();
  });

  it('strips S3 and SFTP credentials from location events before they leave', async () => {
    const { storage, url } = await start();
    const client = await openSse(`${url}/storage/monitor`, auth);
    await until(() => storage.liveSubscriptions === 1);
    const s3 = randomUUID();
    const sftp = randomUUID();
    const created_at = '2024-05-01T10:00:00.123456789+02:00';
    publishStorageEvent(storage, 'location_created_event', {
      uuid: s3,
      item: {
        uuid: s3,
        name: 'Perpetual storage',
        source: 's3',
        purpose: 'aip_store',
        created_at,
        config: {
          type: 's3',
          value: {
            bucket: 'aips',
            region: 'eu-west-1',
            key: 's3-access-key',
            secret: 's3-secret-value',
            token: 's3-session-token',
          },
        },
      },
    });
    publishStorageEvent(storage, 'location_created_event', {
      uuid: sftp,
      item: {
        uuid: sftp,
        name: 'Offsite replica',
        source: 'sftp',
        purpose: 'aip_store',
        created_at,
        config: {
          type: 'sftp',
          value: {
            address: 'sftp.example:22',
            username: 'archivist',
            password: 'sftp-password-value',
            directory: '/aips',
          },
        },
      },
    });
    await client.waitFor((m) => m.length >= 3);
    assert.equal(client.messages[0]?.data, '{"value":{"type":"storage_ping_event","value":{"message":"Hello"}}}');
    for (const secret of SECRETS) assert.ok(!client.raw().includes(secret), `credential ${secret} leaked`);
    const [first, second] = client.messages.slice(1).map((m) => JSON.parse(m.data));
    assert.deepEqual(first.value.value.item.config, { type: 's3', value: { bucket: 'aips', region: 'eu-west-1' } });
    assert.deepEqual(second.value.value.item.config, {
      type: 'sftp',
      value: { address: 'sftp.example:22', directory: '/aips' },
    });
    assert.equal(first.value.value.item.created_at, created_at, 'date-times pass through unchanged');
    client.close();
  });

  it('sends each event with the trace context it was published in, in process too', async () => {
    const telemetry = testTelemetry();
    const storage = newStorageEventServiceInMem({ tracerProvider: telemetry.tracerProvider });
    const gateway = createMonitorGateway({ storage, tokens: [{ token: TOKEN }], pingIntervalMs: 60_000 });
    try {
      const client = await openSse(`${await gateway.listen()}/storage/monitor`, auth);
      await until(() => storage.liveSubscriptions === 1);
      publishStorageEvent(storage, 'aip_status_updated_event', { uuid: randomUUID(), status: 'stored' });
      await client.waitFor((m) => m.length >= 2);
      const publish = telemetry.spans.getFinishedSpans()[0]?.spanContext();
      assert.ok(publish, 'the publish made a span');
      const message = JSON.parse(client.messages[1]?.data ?? '') as Record<string, unknown>;
      assert.equal(message.traceparent, `00-${publish.traceId}-${publish.spanId}-01`);
      assert.ok(storageCodec.decode(client.messages[1]?.data ?? '').ok, 'still a valid storage event');
      client.close();
    } finally {
      await gateway.close();
      await storage.close();
      await telemetry.shutdown();
    }
  });

  it('refuses to run without a token', () => {
    assert.throws(() => createMonitorGateway({ ingest: newIngestEventServiceInMem(), tokens: [] }), TypeError);
  });
});
