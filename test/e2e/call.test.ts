import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openUser, waitForRemoteFrames, waitForStatus } from '../helpers/browser.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';

describe('a call between two strangers in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    server = await startServerProcess('e2e-call');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("both users click Start, get matched, and decode each other's video through the SFU", async () => {
    alice = await openUser(browser, server.url);
    bob = await openUser(browser, server.url);
    await waitForStatus(alice, 'connected');
    await waitForStatus(bob, 'connected');
    await alice.getByTestId('start').click();
    await waitForStatus(alice, 'waiting');
    await bob.getByTestId('start').click();
    await waitForStatus(alice, 'matched');
    await waitForStatus(bob, 'matched');
    const aliceSees = await waitForRemoteFrames(alice, { after: 10 });
    const bobSees = await waitForRemoteFrames(bob, { after: 10 });
    expect(aliceSees.frameWidth).toBeGreaterThan(0);
    expect(bobSees.frameWidth).toBeGreaterThan(0);
  });
});
