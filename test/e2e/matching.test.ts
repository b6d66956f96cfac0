import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openUser, status, waitForStatus } from '../helpers/browser.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';

/** Any allowed partner will do after this long; searches widen at half of it, which leaves the jazz pair 6 s to form. */
const WAIT_LIMIT_MS = 12_000;

/** Types each interest into the field and presses Enter, as a user would; waits for the chips. */
async function addInterests(page: Page, interests: string[]): Promise<void> {
  const field = page.getByTestId('interests-input');
  for (const interest of interests) {
    await field.fill(interest);
    await field.press('Enter');
  }
  await page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="interest-chip"]').length === count,
    interests.length,
  );
}

async function sharedInterests(page: Page): Promise<string | null> {
  const shared = page.getByTestId('shared-interests');
  return (await shared.count()) === 0 ? null : shared.textContent();
}

describe('smart matching in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServerProcess('e2e-matching', { MATCH_WAIT_LIMIT_MS: String(WAIT_LIMIT_MS) });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('pairs the two jazz fans and shows them "jazz"; the football fan meets a newcomer within the wait limit', async () => {
    const football = await openUser(browser, server.url);
    const chessJazz = await openUser(browser, server.url);
    const jazz = await openUser(browser, server.url);
    const newcomer = await openUser(browser, server.url);
    for (const page of [football, chessJazz, jazz, newcomer]) await waitForStatus(page, 'connected');
    await addInterests(football, ['football']);
    // Typed with a comma, in capitals: one chip each, normalised.
    await chessJazz.getByTestId('interests-input').fill('Chess, JAZZ,');
    await chessJazz.getByTestId('interests-input').blur();
    await chessJazz.waitForFunction(() => document.querySelectorAll('[data-testid="interest-chip"]').length === 2);
    expect(await chessJazz.getByTestId('interest-chip').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('chess'), expect.stringContaining('jazz')]),
    );
    await addInterests(jazz, ['jazz']);

    await football.getByTestId('start').click();
    const footballStarted = Date.now();
    await waitForStatus(football, 'waiting');
    await chessJazz.getByTestId('start').click();
    await waitForStatus(chessJazz, 'waiting');
    // Football and chess/jazz share nothing: not matched at once.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await status(football)).toBe('waiting');
    expect(await status(chessJazz)).toBe('waiting');

    await jazz.getByTestId('start').click();
    await waitForStatus(jazz, 'matched');
    await waitForStatus(chessJazz, 'matched');
    for (const page of [jazz, chessJazz]) {
      await page.getByTestId('shared-interests').waitFor();
      expect(await sharedInterests(page)).toContain('jazz');
      expect(await sharedInterests(page)).not.toContain('chess');
    }
    expect(await status(football)).toBe('waiting');

    await newcomer.getByTestId('start').click();
    const newcomerStarted = Date.now();
    await waitForStatus(football, 'matched', WAIT_LIMIT_MS + 5000);
    await waitForStatus(newcomer, 'matched');
    // At the latest when the football fan's wait allows anyone (plus a round and page updates).
    const latest = Math.max(newcomerStarted, footballStarted + WAIT_LIMIT_MS);
    expect(Date.now() - latest).toBeLessThan(2500);
    expect(await sharedInterests(football)).toBeNull();
    expect(await sharedInterests(newcomer)).toBeNull();
  });
});
