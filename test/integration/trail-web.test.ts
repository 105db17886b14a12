/**
 * The trail's web page in a real browser (Debian's chromium, headless, through playwright-core)
 * after a real crossing: two connector processes on the real Kafka, a document that crossed and
 * came back with status 01, one past its DueDate. The clerk logs in, sees the list in Vietnamese,
 * clicks through a timeline, sees the overdue mark, and the page picks up a new document by
 * itself. Without the token a browser sees nothing. A hostile subject stays text.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { freePort } from '../support/ports';
import { launchBrowser } from '../support/browser';
import { formatVietnamTime } from '../../src/trail/calendar/working-time';

const TOKEN = `trail-page-token-${'x'.repeat(32)}`;
const HOSTILE = 'Công văn <img src=x onerror="window.__xss=1"> khẩn';

/** Yesterday, Vietnam time, as YYYY-MM-DD. */
function yesterday(): string {
  return new Date(Date.now() + 7 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
}

describe('the trail web page in a real browser after a real crossing', function () {
  this.timeout(240_000);
  const agencies = useAgencyProcesses('vdxp-trail-web');

  it('lists, shows a timeline, marks what is overdue, refreshes by itself, and shows nothing without the token', async () => {
    const tokenFile = path.join(agencies.base(), 'trail-token');
    fs.writeFileSync(tokenFile, TOKEN);
    const webPort = await freePort();
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'), {
      organName: 'UBND Tỉnh Nghệ An',
      trail: { web: { enabled: true, host: '127.0.0.1', port: webPort, tokenFile, refreshSeconds: 2 } },
    });
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    await agencies.start(g22);
    await agencies.start(h41);

    const late = makeEdoc({ from: h41.organId, to: [g22.organId], number: 101, subject: 'Báo cáo tình hình triển khai văn bản điện tử', dueDate: yesterday() });
    const hostile = makeEdoc({ from: h41.organId, to: [g22.organId], number: 102, subject: HOSTILE });
    dropPackage(h41.outbox, 'late.edxml', late);
    dropPackage(h41.outbox, 'hostile.edxml', hostile);
    await waitFor(() => deliveredFiles(g22.inbox).length === 2, 30_000, 'both documents delivered to G22');
    await waitFor(() => deliveredFiles(h41.inbox).filter((f) => f.includes('.status-01.')).length === 2, 30_000, 'status 01 back at H41');

    const base = `http://127.0.0.1:${webPort}`;
    const api = (p: string) => fetch(base + p, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.json() as Promise<any>);
    await waitFor(async () => (await api('/api/documents')).items.filter((d: any) => d.parties[0]?.stage === 'arrived').length === 2, 20_000, 'the read model to see both arrivals');

    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // Not logged in: the login form, and nothing of the documents.
      await page.goto(base + '/');
      assert.match(page.url(), /\/login$/);
      const before = await page.content();
      assert.ok(!before.includes('Báo cáo tình hình') && !before.includes(h41.organId.slice(0, 3) + '.'), 'the login page shows no document');
      const unauthenticated = await page.evaluate(async () => (await fetch('/api/documents')).status);
      assert.equal(unauthenticated, 401);

      await page.fill('#token', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForSelector('#documents tbody tr');
      assert.equal(await page.locator('#documents tbody tr').count(), 2);
      const header = await page.textContent('header h1');
      assert.match(header ?? '', /Theo dõi văn bản liên thông — UBND Tỉnh Nghệ An/);

      const lateRow = page.locator('#documents tbody tr', { hasText: 'Báo cáo tình hình' });
      const hostileRow = page.locator('#documents tbody tr', { hasText: 'khẩn' });
      assert.match((await lateRow.textContent()) ?? '', /Đã đến.*Quá hạn xử lý/);
      assert.ok(!((await hostileRow.textContent()) ?? '').includes('Quá hạn'), 'a document without a DueDate is not overdue');
      assert.ok(((await hostileRow.textContent()) ?? '').includes('<img src=x onerror="window.__xss=1">'), 'the hostile subject is shown as text');
      assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined, 'and never runs');

      // The timeline of the late document, with its evidence, in Vietnam time.
      await lateRow.click();
      await page.waitForSelector('#timeline:not([hidden]) #t-steps li');
      const timeline = (await page.textContent('#timeline')) ?? '';
      for (const text of ['Nhận từ hệ thống quản lý văn bản', 'Đã đưa lên trục', `vdxp.docs.${g22.organId}`, 'Nhận trạng thái 01 (Đã đến)', 'Quá hạn xử lý']) {
        assert.ok(timeline.includes(text), `timeline shows ${text}: ${timeline}`);
      }
      const detail = await api(`/api/documents/${encodeURIComponent(`${h41.organId},2026/11/23,101/UBND-VP`)}`);
      assert.ok(timeline.includes(formatVietnamTime(detail.steps[0].at)), 'times are Asia/Ho_Chi_Minh, though the browser runs in UTC');

      // The overdue filter, on the server.
      await page.check('#f-overdue');
      await waitFor(async () => (await page.locator('#documents tbody tr').count()) === 1, 10_000, 'only the overdue document');
      await page.uncheck('#f-overdue');

      // A new document appears without a reload.
      dropPackage(h41.outbox, 'third.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 103, subject: 'Giấy mời họp trực tuyến' }));
      await page.waitForSelector('#documents tbody tr:has-text("Giấy mời họp trực tuyến")', { timeout: 30_000 });
      if (process.env.VDXP_SCREENSHOT_FILE) {
        await lateRow.click();
        await page.waitForTimeout(500);
        await page.screenshot({ path: process.env.VDXP_SCREENSHOT_FILE, fullPage: false });
      }
      assert.deepEqual(errors, [], 'no script errors');

      // The same browser without its session cookie sees nothing, and the page goes back to the login form.
      await browser.context.clearCookies();
      const after = await browser.context.request.get(base + '/api/documents');
      assert.equal(after.status(), 401, 'without the session cookie the API answers 401');
      assert.ok(!(await after.text()).includes('Báo cáo'));
      await page.waitForURL(/\/login$/, { timeout: 15_000 });
    } finally {
      await browser.close();
    }
  });
});
