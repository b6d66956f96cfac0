import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openUser, pairUp, signInAsAdmin, status, waitForStatus } from '../helpers/browser.js';
import { type ForwardingProxy, startForwardingProxy } from '../helpers/forwardingProxy.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';

const ADMIN_TOKEN = 'e2e-safety-admin-token-0123456789';

/**
 * Distinct users need distinct addresses (reporters count once per device or address): the
 * server trusts one proxy hop and each user reaches it through a loopback proxy of their own that
 * sets X-Forwarded-For. The documentation addresses below are data in a header only; every
 * connection stays on loopback.
 */
const proxies: ForwardingProxy[] = [];
async function via(url: string, n: number): Promise<string> {
  const proxy = await startForwardingProxy(url, `198.51.100.${n}`);
  proxies.push(proxy);
  return proxy.url;
}

/** Reports the current partner through the report dialog, as a user would. */
async function reportPartner(page: Page): Promise<void> {
  await page.getByTestId('report').click();
  await page.getByTestId('report-reason').selectOption('harassment');
  await page.getByTestId('report-text').fill('insults in the chat');
  await page.getByTestId('report-submit').click();
}

describe('safety in Chromium: rules gate, reports, automatic ban, moderation', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meetopia-e2e-safety-'));
    server = await startServerProcess('e2e-safety', { TRUST_PROXY: 'true', ADMIN_TOKEN, DATA_DIR: dataDir });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the rules gate on the first visit, holds Start behind it, and not on the second visit', async () => {
    const page = await openUser(browser, await via(server.url, 10), { acceptRules: false });
    await page.getByTestId('rules-gate').waitFor();
    expect(await page.getByTestId('rules-gate').textContent()).toMatch(/18/);
    expect(await page.getByTestId('start').isDisabled()).toBe(true);
    await page.getByTestId('rules-accept').click();
    await page.getByTestId('rules-gate').waitFor({ state: 'detached' });
    await page.waitForFunction(
      () => !(document.querySelector('[data-testid="start"]') as HTMLButtonElement | null)?.disabled,
    );

    await page.reload();
    await waitForStatus(page, 'connected');
    // Give the page time to show a gate it should not show.
    await page.waitForTimeout(500);
    expect(await page.getByTestId('rules-gate').count()).toBe(0);
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
    await page.context().close();
  });

  it('a report moves the reporter on at once; after three reporters the reported user sees ban-notice; the admin lists the reports and lifts the ban', async () => {
    const reported = await openUser(browser, await via(server.url, 20));
    for (const n of [21, 22, 23]) {
      const reporter = await openUser(browser, await via(server.url, n));
      if (n === 21) await pairUp(reported, reporter);
      else {
        // After a report the reported user is back in the queue by themselves.
        await waitForStatus(reporter, 'connected');
        await reporter.getByTestId('start').click();
        await waitForStatus(reporter, 'matched');
        await waitForStatus(reported, 'matched');
      }
      await reportPartner(reporter);
      // The reporter is on to the next stranger at once; the reported user is left behind.
      await waitForStatus(reporter, 'waiting', 2000);
      if (n < 23) {
        await waitForStatus(reported, 'waiting');
        await reporter.context().close();
      } else {
        await reported.getByTestId('ban-notice').waitFor({ timeout: 2000 });
        await reporter.context().close();
      }
    }
    expect(await reported.getByTestId('ban-notice').textContent()).toMatch(/\d/);
    expect(await reported.getByTestId('start').isDisabled()).toBe(true);
    expect(await status(reported)).not.toBe('waiting');

    const admin = await (await browser.newContext()).newPage();
    await admin.goto(`${server.url}/admin`);
    await signInAsAdmin(admin, ADMIN_TOKEN, 'e2e-moderator');
    await admin.getByTestId('admin-tab-moderation').click();
    const group = admin.getByTestId('report-group');
    await group.waitFor();
    expect(await group.count()).toBe(1);
    const groupText = (await group.textContent()) ?? '';
    expect(groupText).toMatch(/harassment/i);
    expect(groupText).toMatch(/3 reports from 3 distinct\s+reporters/);
    expect(groupText).toMatch(/insults in the chat/);
    // Addresses are shown hashed, never in clear.
    expect(groupText).not.toContain('198.51.100.');
    await group.getByTestId('report-group-ban').waitFor();

    const ban = admin.getByTestId('ban');
    await ban.waitFor();
    const banId = await ban.getAttribute('data-ban-id');
    await admin.getByTestId('ban-reason-input').fill('reviewed: mistaken reports');
    await admin.getByTestId(`unban-${banId}`).click();
    await admin.getByTestId('admin-message').filter({ hasText: 'lifted' }).waitFor();
    expect(await admin.getByTestId('bans').getAttribute('data-count')).toBe('0');

    // The lifted user can start again.
    await reported.reload();
    await waitForStatus(reported, 'connected');
    expect(await reported.getByTestId('ban-notice').count()).toBe(0);
    await reported.getByTestId('start').click();
    await waitForStatus(reported, 'waiting');
  });
});
