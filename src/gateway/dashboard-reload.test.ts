// The dashboard reloaded in a real browser (Debian's Chromium through playwright-core), on the in-memory
// backend with the demo producer, as `npm start` runs it: a reload shows the same picture, nothing twice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { MonitorState } from '../monitor/monitor-state.js';
import { publishIngestEventConfirmed } from '../monitor/publish-helpers.js';
import { newIngestEventServiceInMem, newStorageEventServiceInMem } from '../monitor/services.js';
import { type DemoProducer, startDemoProducer } from './demo-producer.js';
import type { Gateway } from './gateway.js';
import { createMonitorGateway } from './monitor-gateway.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'reload-test-token';
const SHOTS = process.env.DASHBOARD_SHOTS ?? 'test-output';
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };

/** What a user sees: rows (uuid, status, name, progress), counters, activity lines. */
interface Picture {
  readonly rows: readonly (readonly string[])[];
  readonly stats: readonly string[];
  readonly activity: readonly string[];
}

// Page-side code goes as text: the test runner's transform would add helpers the page does not have. Text
// predicates need eval, which the page's CSP forbids, so these pages bypass it (dashboard.test.ts keeps it on).
const PICTURE = `(() => {
  const text = (node) => (node && node.textContent ? node.textContent.trim() : '');
  return {
    rows: [...document.querySelectorAll('#sips-body tr.sip-row')].map((row) => [
      row.getAttribute('data-uuid') || '',
      row.getAttribute('data-status') || '',
      text(row.querySelector('.name')),
      text(row.querySelector('.progress-text')),
    ]),
    stats: [...document.querySelectorAll('.stat-value')].map(text),
    activity: [...document.querySelectorAll('#activity-list li')].map(text),
  };
})()`;

const pictureOf = (page: Page): Promise<Picture> => page.evaluate(PICTURE) as Promise<Picture>;

/** True in the page once `condition` (an expression over `rows`, the SIP rows shown) holds. */
const whenRows = (page: Page, condition: string, timeout = 15_000) =>
  page.waitForFunction(
    `(() => { const rows = [...document.querySelectorAll('#sips-body tr.sip-row')]; return ${condition}; })()`,
    undefined,
    { timeout },
  );

async function serverState(url: string, stream: 'ingest' | 'storage'): Promise<MonitorState> {
  const response = await fetch(`${url}/${stream}/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { state: MonitorState }).state;
}

/** Resolves once the page shows every SIP of the gateway's state with its status, and no other row. */
async function caughtUp(page: Page, url: string): Promise<void> {
  const sips = (await serverState(url, 'ingest')).sips.map((sip) => [sip.uuid, sip.status ?? '']);
  const aips = (await serverState(url, 'storage')).aips.length;
  const expected = JSON.stringify(sips);
  try {
    await page.waitForFunction(
      `JSON.stringify([...document.querySelectorAll('#sips-body tr.sip-row')].map((row) => [row.getAttribute('data-uuid'), row.getAttribute('data-status')])) === ${JSON.stringify(expected)} && document.querySelectorAll('#aips-body tr').length === ${aips}`,
      undefined,
      { timeout: 15_000 },
    );
  } catch (error) {
    // Say what differs, not only that it timed out.
    const shown = (await pictureOf(page)).rows.map((row) => `${row[0]?.slice(0, 8)}:${row[1]}`);
    const wanted = sips.map(([uuid, status]) => `${uuid?.slice(0, 8)}:${status}`);
    assert.deepEqual(shown, wanted, `the page did not catch up with the gateway: ${String(error)}`);
    throw error;
  }
}

const live = async (page: Page): Promise<void> => {
  await page.locator('#conn-ingest[data-state="live"]').waitFor({ timeout: 10_000 });
  await page.locator('#conn-storage[data-state="live"]').waitFor({ timeout: 10_000 });
};

function assertNoDuplicateRows(picture: Picture): void {
  const uuids = picture.rows.map((row) => row[0]);
  assert.equal(new Set(uuids).size, uuids.length, `duplicate rows: ${uuids.join(', ')}`);
}

describe('dashboard reload in Chromium', () => {
  let browser: Browser;
  let gateway: Gateway;
  let demo: DemoProducer | undefined;
  let url: string;
  const ingest = newIngestEventServiceInMem();
  const storage = newStorageEventServiceInMem();

  before(async () => {
    // Never skipped: a missing browser fails the test.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 30_000,
    });
    // No answer reuse: each page load reads the state afresh, as the test compares it with the gateway's.
    gateway = createMonitorGateway({ ingest, storage, tokens: [{ token: TOKEN }], state: { cacheMs: 0 } });
    url = await gateway.listen();
  });

  after(async () => {
    demo?.stop();
    await browser?.close();
    await gateway?.close();
    await Promise.all([ingest.close(), storage.close()]);
  });

  it('a reload shows the same SIPs, counters and activity, with no duplicate row; mid-demo it misses nothing', async () => {
    // A SIP from last year, whose name arrives only after it was created, with dates that are not today.
    const old = randomUUID();
    const lastYear = new Date(Date.now() - 400 * 24 * 3600 * 1000).toISOString();
    await publishIngestEventConfirmed(ingest, 'sip_created_event', {
      uuid: old,
      item: { uuid: old, status: 'queued', created_at: lastYear },
    });
    await publishIngestEventConfirmed(ingest, 'sip_status_updated_event', { uuid: old, status: 'processing' });
    await publishIngestEventConfirmed(ingest, 'sip_updated_event', {
      uuid: old,
      item: {
        uuid: old,
        name: 'Late-Named-Deposit-1899.zip',
        status: 'processing',
        created_at: lastYear,
        started_at: lastYear,
        completed_at: lastYear,
        file_count: 12,
        uploader_name: 'Ana Costa',
        uploader_email: 'ana.costa@archive.example',
      },
    });

    demo = startDemoProducer({ ingest, storage, stepIntervalMs: 40, concurrentSips: 4, failureRate: 0.25 });
    const page = await browser.newPage({ viewport: WIDE, bypassCSP: true });
    const pageErrors: Error[] = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    try {
      await page.goto(`${url}/#token=${TOKEN}`);
      await live(page);
      await page.locator('#sips-body tr.sip-row').nth(6).waitFor({ timeout: 20_000 });
      await page.locator('#aips-body tr[data-status="stored"]').first().waitFor({ timeout: 20_000 });

      // 1. A reload while the demo runs: events published while the page was away arrive once, after the state.
      await page.reload();
      await live(page);
      await page.locator('#sips-body tr.sip-row').nth(6).waitFor({ timeout: 10_000 });
      // More happens after the reload, on the resumed streams.
      const started = demo.sipsStarted;
      // Two SIPs more than were started before (the extra row is last year's SIP).
      await whenRows(page, `rows.length >= ${started + 3}`, 20_000);
      demo.stop();
      await caughtUp(page, url);
      const reloaded = await pictureOf(page);
      assertNoDuplicateRows(reloaded);
      // A page that never lived through a reload, loaded now, shows exactly the same.
      const fresh = await browser.newPage({ viewport: WIDE, bypassCSP: true });
      try {
        await fresh.goto(`${url}/#token=${TOKEN}`);
        await live(fresh);
        await caughtUp(fresh, url);
        assert.deepEqual(reloaded, await pictureOf(fresh));
      } finally {
        await fresh.close();
      }

      // 2. A reload with nothing happening: the same picture, row for row, counter for counter.
      await page.reload();
      await live(page);
      await caughtUp(page, url);
      const again = await pictureOf(page);
      assert.deepEqual(again, reloaded);
      assertNoDuplicateRows(again);
      assert.ok(Number(again.stats[0]) >= 7, `SIP counter ${again.stats[0]}`);

      // Names over uuids: the late name, AIP locations by name.
      const lateRow = again.rows.find((row) => row[0] === old);
      assert.equal(lateRow?.[2], 'Late-Named-Deposit-1899.zip');
      assert.ok(
        again.activity.some((line) => line.includes('Late-Named-Deposit-1899.zip received for ingest')),
        'the activity names the SIP by the name that came later',
      );
      const locations = await page.locator('#aips-body tr[data-status="stored"] td.location-cell').allTextContents();
      assert.ok(locations.length > 0);
      for (const name of locations) assert.match(name, /^(Perpetual storage|Offsite replica)$/);

      // 1400 px with dates that are not today: the SIP table fits its panel, nothing scrolls sideways.
      const fits = (await page.evaluate(`(() => {
        const table = document.querySelector('#sips-table');
        return { table: table.scrollWidth, panel: table.parentElement.clientWidth, page: document.documentElement.scrollWidth };
      })()`)) as { table: number; panel: number; page: number };
      assert.ok(fits.table <= fits.panel, `SIP table ${fits.table} px in a ${fits.panel} px panel`);
      assert.ok(fits.page <= WIDE.width, `page ${fits.page} px wide`);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}/dashboard-after-reload-1400.png`, fullPage: true });

      // The status filter and the search.
      await page.selectOption('#sip-filter', 'failed');
      // Exactly the failed ones (there may be none yet: the demo fails a SIP at random).
      const failed = again.rows.filter((row) => row[1] === 'failed' || row[1] === 'error').map((row) => row[0]);
      await whenRows(
        page,
        `JSON.stringify(rows.map((row) => row.getAttribute('data-uuid'))) === ${JSON.stringify(JSON.stringify(failed))}`,
      );
      await page.selectOption('#sip-filter', '');
      await page.fill('#sip-search', old.slice(0, 13));
      await whenRows(page, `rows.length === 1 && rows[0].getAttribute('data-uuid') === ${JSON.stringify(old)}`);
      await page.fill('#sip-search', 'late-named');
      await whenRows(page, `rows.length === 1 && rows[0].getAttribute('data-uuid') === ${JSON.stringify(old)}`);
      await page.fill('#sip-search', '');
      assert.deepEqual(pageErrors, []);
    } finally {
      await page.close();
    }

    // A phone: after a reload the SIP list reads without sideways scrolling.
    const phone = await browser.newPage({ viewport: PHONE, isMobile: true, hasTouch: true, bypassCSP: true });
    try {
      await phone.goto(`${url}/#token=${TOKEN}`);
      await live(phone);
      await caughtUp(phone, url);
      await phone.reload();
      await live(phone);
      await caughtUp(phone, url);
      const widths = (await phone.evaluate(`({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        table: document.querySelector('#sips-table').scrollWidth,
        overflowing: [...document.querySelectorAll('#sips-body td')]
          .filter((cell) => cell.offsetParent !== null && cell.scrollWidth > cell.clientWidth + 1)
          .map((cell) => cell.getAttribute('data-label') + ': ' + cell.textContent),
      })`)) as { page: number; viewport: number; table: number; overflowing: string[] };
      assert.deepEqual(widths.overflowing, [], 'every SIP line fits its width');
      assert.ok(widths.page <= widths.viewport, `page ${widths.page} px on a ${widths.viewport} px screen`);
      assert.ok(widths.table <= widths.viewport, `SIP list ${widths.table} px on a ${widths.viewport} px screen`);
      await phone.screenshot({ path: `${SHOTS}/dashboard-after-reload-phone.png`, fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('after a gateway restart (its positions unknown to the new one) the page loads the new picture, not a mix', async () => {
    // A gateway of its own, on a port that the restarted one takes again.
    const firstIngest = newIngestEventServiceInMem();
    const firstStorage = newStorageEventServiceInMem();
    let current = createMonitorGateway({
      ingest: firstIngest,
      storage: firstStorage,
      tokens: [{ token: TOKEN }],
      state: { cacheMs: 0 },
    });
    const base = await current.listen();
    const port = Number(new URL(base).port);
    let secondIngest: ReturnType<typeof newIngestEventServiceInMem> | undefined;
    let secondStorage: ReturnType<typeof newStorageEventServiceInMem> | undefined;
    const page = await browser.newPage({ viewport: WIDE, bypassCSP: true });
    try {
      const before = randomUUID();
      await publishIngestEventConfirmed(firstIngest, 'sip_created_event', {
        uuid: before,
        item: { uuid: before, name: 'Before-Restart.zip', status: 'queued', created_at: new Date().toISOString() },
      });
      await page.goto(`${base}/#token=${TOKEN}`);
      await live(page);
      await caughtUp(page, base);

      // The gateway restarts with an empty history: the page's last position means nothing to it.
      await current.close();
      await Promise.all([firstIngest.close(), firstStorage.close()]);
      await page.locator('#conn-ingest[data-state="reconnecting"]').waitFor({ timeout: 10_000 });
      secondIngest = newIngestEventServiceInMem();
      secondStorage = newStorageEventServiceInMem();
      current = createMonitorGateway({
        ingest: secondIngest,
        storage: secondStorage,
        tokens: [{ token: TOKEN }],
        state: { cacheMs: 0 },
      });
      await current.listen({ port });
      const afterRestart = randomUUID();
      await publishIngestEventConfirmed(secondIngest, 'sip_created_event', {
        uuid: afterRestart,
        item: { uuid: afterRestart, name: 'After-Restart.zip', status: 'queued', created_at: new Date().toISOString() },
      });

      await caughtUp(page, base);
      const picture = await pictureOf(page);
      assert.deepEqual(
        picture.rows.map((row) => row[2]),
        ['After-Restart.zip'],
      );
      const banner = page.locator('#gap-banner-ingest:not([hidden])');
      await banner.waitFor({ timeout: 10_000 });
      assert.match((await banner.textContent()) ?? '', /the view was reloaded/);
    } finally {
      await page.close();
      await current.close();
      await Promise.all([firstIngest.close(), firstStorage.close(), secondIngest?.close(), secondStorage?.close()]);
    }
  });
});
