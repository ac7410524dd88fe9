// The dashboard in a real browser (Debian's Chromium through playwright-core):
// served by the gateway with the demo producer running, as `npm start` does.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { startRedisServer } from '../../test/support/redis-server.js';
import { testTelemetry } from '../../test/support/telemetry.js';
import { freshTopic } from '../conformance/harness.js';
import { newIngestEventServiceRedis, newStorageEventServiceRedis } from '../monitor/redis-services.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { type DemoProducer, startDemoProducer } from './demo-producer.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token';
const SCREENSHOT = 'test-output/dashboard.png';
const DEMO_SECRETS = ['demo-secret-access-key', 'AKIADEMOACCESSKEY', 'demo-sftp-password'];

describe('dashboard in Chromium', () => {
  let browser: Browser;
  let gateway: Gateway;
  let demo: DemoProducer;
  let url: string;
  // Traced, as an application with an SDK would be: the page names the trace of what it shows.
  const telemetry = testTelemetry();
  const ingest = newIngestEventServiceInMem({ tracerProvider: telemetry.tracerProvider });
  const storage = newStorageEventServiceInMem({ tracerProvider: telemetry.tracerProvider });

  before(async () => {
    // Never skipped: a missing browser fails the test.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }], pingIntervalMs: 2000 });
    url = await gateway.listen();
  });

  after(async () => {
    demo?.stop();
    await browser?.close();
    await gateway?.close();
    await Promise.all([ingest.close(), storage.close()]);
    await telemetry.shutdown();
  });

  it('shows SIPs appearing and changing status live, with AIPs and locations, and no credentials', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    await page.goto(`${url}/#token=${TOKEN}`);
    // The token leaves the address bar once read.
    assert.equal(new URL(page.url()).hash, '');
    await page.locator('#conn-ingest[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('#conn-storage[data-state="live"]').waitFor({ timeout: 10_000 });

    // The streams are live: start producing, as `serve --demo` does.
    demo = startDemoProducer({ ingest, storage, stepIntervalMs: 60, concurrentSips: 4, failureRate: 0.25 });

    const firstRow = page.locator('#sips-body tr.sip-row').last();
    await firstRow.waitFor({ timeout: 10_000 });
    const uuid = await firstRow.getAttribute('data-uuid');
    assert.ok(uuid);
    const row = page.locator(`#sips-body tr.sip-row[data-uuid="${uuid}"]`);
    const initial = await row.getAttribute('data-status');
    assert.ok(initial === 'queued' || initial === 'processing', `unexpected first status ${initial}`);
    // The same SIP moves on, to ingested or failed.
    await page
      .locator(
        `#sips-body tr.sip-row[data-uuid="${uuid}"][data-status="ingested"], #sips-body tr.sip-row[data-uuid="${uuid}"][data-status="failed"]`,
      )
      .waitFor({ timeout: 30_000 });
    await page.locator('#aips-body tr[data-status="stored"]').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#locations-list li').count(), 2);

    // Open a SIP to show its workflow and tasks.
    await row.click();
    await page.locator(`#sips-body tr.sip-row.selected[data-uuid="${uuid}"]`).waitFor({ timeout: 5000 });
    await page.locator('tr.details .tasks li').first().waitFor({ timeout: 5000 });
    const shown = await page.locator('tr.details .trace').textContent({ timeout: 5000 });
    const traceId = /^Last update in trace ([0-9a-f]{32})$/.exec(shown ?? '')?.[1];
    assert.ok(
      telemetry.spans.getFinishedSpans().some((span) => span.spanContext().traceId === traceId),
      `the trace the page names (${shown}) is one a publish started`,
    );

    const text = await page.content();
    for (const secret of DEMO_SECRETS) assert.ok(!text.includes(secret), `dashboard shows credential ${secret}`);
    // What reaches the browser on the storage stream carries no credentials either.
    const storageWire = await page.evaluate(async (token) => {
      const controller = new AbortController();
      const response = await fetch('/storage/monitor', {
        headers: { Authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let received = '';
      while (!received.includes('"aip_status_updated_event"')) {
        const { value, done } = await reader.read();
        if (done) break;
        received += value;
      }
      controller.abort();
      return received;
    }, TOKEN);
    assert.match(storageWire, /aip_status_updated_event/);
    for (const secret of DEMO_SECRETS) assert.ok(!storageWire.includes(secret), `stream leaks ${secret}`);

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(pageErrors, []);

    // The gateway goes away: the page says so and keeps trying.
    demo.stop();
    await gateway.close();
    await page.locator('#conn-ingest[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('shows each stream losing its event bus and coming back, with one gap banner per stream', async () => {
    const redis = await startRedisServer();
    const config = { redisAddress: redis.url };
    const redisIngest = newIngestEventServiceRedis(undefined, undefined, { ...config, redisChannel: freshTopic() });
    const redisStorage = newStorageEventServiceRedis(undefined, undefined, { ...config, redisChannel: freshTopic() });
    const redisGateway = createMonitorGateway({
      ingest: redisIngest,
      storage: redisStorage,
      tokens: [{ token: TOKEN }],
      pingIntervalMs: 2000,
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    try {
      const pageErrors: Error[] = [];
      page.on('pageerror', (error) => pageErrors.push(error));
      await page.goto(`${await redisGateway.listen()}/#token=${TOKEN}`);
      for (const name of ['ingest', 'storage']) {
        await page.locator(`#conn-${name}[data-state="live"][data-backend="ok"]`).waitFor({ timeout: 10_000 });
      }

      await redis.stop();
      // The page is still connected to the gateway; what it shows is that the gateway lost Redis.
      for (const name of ['ingest', 'storage']) {
        const badge = page.locator(`#conn-${name}[data-state="live"][data-backend="lost"]`);
        await badge.waitFor({ timeout: 15_000 });
        assert.equal(await badge.locator('.conn-text').textContent(), 'Event bus unreachable');
      }

      await redis.restart();
      for (const name of ['ingest', 'storage']) {
        await page.locator(`#conn-${name}[data-state="live"][data-backend="ok"]`).waitFor({ timeout: 15_000 });
      }
      // Both gaps at once: the second stream's notice does not replace the first's.
      const ingestBanner = page.locator('#gap-banner-ingest:not([hidden])');
      const storageBanner = page.locator('#gap-banner-storage:not([hidden])');
      await ingestBanner.waitFor({ timeout: 15_000 });
      await storageBanner.waitFor({ timeout: 15_000 });
      assert.match(
        (await ingestBanner.textContent()) ?? '',
        /Some ingest updates were missed \(the event bus reconnected\)/,
      );
      assert.match(
        (await storageBanner.textContent()) ?? '',
        /Some storage updates were missed \(the event bus reconnected\)/,
      );
      assert.ok(await ingestBanner.isVisible());
      assert.ok(await storageBanner.isVisible());

      // Dismissing one leaves the other.
      await ingestBanner.locator('.gap-dismiss').click();
      await page.locator('#gap-banner-ingest').waitFor({ state: 'hidden', timeout: 5000 });
      assert.ok(await storageBanner.isVisible());
      mkdirSync('test-output', { recursive: true });
      await page.screenshot({ path: 'test-output/dashboard-backend.png' });
      assert.deepEqual(pageErrors, []);
    } finally {
      await page.close();
      await redisGateway.close();
      await Promise.all([redisIngest.close(), redisStorage.close()]);
      await redis.stop();
    }
  });
});
