// Secrets planted in every string field of every location config kind, in the
// current and the legacy goa encodings, published on Redis as Enduro would:
// none may reach anything a person or a scraper sees. Everything is real: a
// redis-server, the gateway over HTTP with Prometheus metrics, the dashboard
// in Chromium, the `tidings tail` command (readable and --json), and pino
// logs at the most verbose level.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import pino from 'pino';
import { type Browser, chromium } from 'playwright-core';
import {
  LOCATION_ENCODINGS,
  locationMessage,
  type PlantedConfig,
  plantedConfigArb,
} from '../../test/fixtures/planted-secrets.js';
import { CliProcess, ensureBuilt } from '../../test/support/cli-process.js';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { openSse, type SseTestClient, until } from '../../test/support/sse-client.js';
import type { RedisEventService } from '../backends/redis/redis-event-service.js';
import { newStorageEventServiceRedis } from '../monitor/redis-services.js';
import type { StorageMonitorEvent } from '../monitor/schemas.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';
import { createPrometheusMetrics, type PrometheusMetrics } from './prometheus-metrics.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'redaction-leak-test-token';

/** A planted location as published: the message, and whether the codec accepts it. */
interface Published {
  readonly planted: PlantedConfig;
  readonly uuid: string;
  readonly text: string;
  readonly valid: boolean;
}

// A fixed sample keeps the browser and CLI parts quick; the redaction
// property itself runs thousands of cases in src/monitor/redaction.test.ts.
const PUBLISHED: readonly Published[] = fc
  .sample(plantedConfigArb, { numRuns: 36, seed: 20_241_130 })
  .map((planted, i) => {
    const uuid = randomUUID();
    const encoding = LOCATION_ENCODINGS[i % LOCATION_ENCODINGS.length]!;
    // Every fourth message is invalid (a source outside the enum): it is
    // logged and counted, never shown, and its secrets must stay out of the log.
    // The last one is valid, so once it is shown every message was handled.
    const valid = i % 4 !== 1;
    return { planted, uuid, text: locationMessage(planted, uuid, encoding, valid ? undefined : 'tape'), valid };
  });
const VALID = PUBLISHED.filter((p) => p.valid);
const MARKERS = PUBLISHED.flatMap((p) => p.planted.markers);

describe('no planted secret reaches a viewer, a terminal, a log or /metrics', () => {
  const channel = `redaction-leak-${randomUUID()}`;
  let redis: RedisServer;
  let admin: Redis;
  let browser: Browser;
  let metrics: PrometheusMetrics;
  let storage: RedisEventService<StorageMonitorEvent>;
  let gateway: Gateway;
  let url: string;
  let sse: SseTestClient;
  let logs = '';
  const tails: CliProcess[] = [];

  before(async () => {
    ensureBuilt();
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    metrics = createPrometheusMetrics();
    storage = newStorageEventServiceRedis(logger, undefined, {
      redisAddress: redis.url,
      redisChannel: channel,
      meterProvider: metrics.meterProvider,
    });
    gateway = createMonitorGateway({ storage, tokens: [{ token: TOKEN }], logger, metrics });
    url = await gateway.listen();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  after(async () => {
    for (const tail of tails) tail.child.kill('SIGKILL');
    sse?.close();
    await browser?.close();
    await gateway?.close();
    await storage?.close();
    await metrics?.shutdown();
    admin?.disconnect();
    await redis?.stop();
  });

  it('keeps every marker of every planted secret out of SSE, the DOM, tail, logs and /metrics', async () => {
    const env = { TIDINGS_REDIS_URL: redis.url };
    const tailArgs = ['tail', '--stream', 'storage', '--channel', channel, '--log-level', 'debug'];
    const readable = new CliProcess(tailArgs, { env });
    const json = new CliProcess([...tailArgs, '--json'], { env });
    tails.push(readable, json);

    sse = await openSse(`${url}/storage/monitor`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(sse.status, 200);
    const page = await browser.newPage();
    await page.goto(`${url}/#token=${TOKEN}`);
    await page.locator('#conn-storage[data-state="live"]').waitFor({ timeout: 30_000 });
    for (const tail of [readable, json]) await tail.waitFor('stderr', /tailing/, 30_000);
    // Three subscribers: the gateway's service and the two tails.
    assert.equal((await admin.pubsub('NUMSUB', channel))[1], 3);

    for (const p of PUBLISHED) await admin.publish(channel, p.text);

    const lines = (c: CliProcess) => c.stdout.split('\n').filter((line) => line !== '').length;
    const shownEverywhere = (text: string) => VALID.every((p) => text.includes(p.uuid));
    await sse.waitFor(() => shownEverywhere(sse.raw()), 30_000);
    for (const tail of [readable, json]) {
      await tail.until(
        'every valid location',
        () => lines(tail) === VALID.length && shownEverywhere(tail.stdout),
        30_000,
      );
    }
    await page
      .locator('#locations-list li')
      .nth(VALID.length - 1)
      .waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#locations-list li').count(), VALID.length);
    const invalid = PUBLISHED.length - VALID.length;
    await until(() => storage.stats.invalid['invalid-payload'] === invalid, 30_000, 'invalid messages counted');
    // Ctrl-C, then read what the tails wrote to the end.
    for (const tail of [readable, json]) {
      tail.child.kill('SIGINT');
      assert.equal((await tail.finished()).code, 0);
    }
    const scraped = await fetch(`${url}/metrics`);
    assert.equal(scraped.status, 200);

    const seen: Record<string, string> = {
      'SSE frames': sse.raw(),
      "the dashboard's DOM": await page.content(),
      'tail (readable)': readable.stdout,
      'tail --json': json.stdout,
      "tail's logs": readable.stderr + json.stderr,
      "the gateway's and service's logs": logs,
      '/metrics': await scraped.text(),
    };
    const leaks = Object.entries(seen)
      .map(([where, text]) => `${where}: ${MARKERS.filter((marker) => text.includes(marker)).length}`)
      .filter((count) => !count.endsWith(': 0'));
    assert.deepEqual(leaks, [], `planted secret markers shown (of ${MARKERS.length})`);

    // The test saw the real thing: what a viewer may see did arrive.
    assert.match(seen['/metrics']!, /tidings_invalid_messages/);
    assert.match(logs, /"level":40/, 'the invalid messages were logged as warnings');
    for (const p of VALID) {
      for (const locator of Object.values(p.planted.locators)) {
        if (locator.unambiguous) assert.ok(seen['SSE frames']!.includes(locator.clean), `SSE shows ${locator.clean}`);
      }
    }
    await page.close();
  });
});
