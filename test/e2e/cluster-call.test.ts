import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundVideo, launchChromium, pairUp, status, waitForStatus, waitForVideoAfter } from '../helpers/browser.js';
import { LaneCluster, pairIdOf } from '../helpers/laneCluster.js';
import { getStatus, type ServerProcess } from '../helpers/serverProcess.js';

/**
 * Three instances sharing Redis behind Debian's nginx running the deploy/nginx example (hashing
 * on a per-browser cookie, see `LaneCluster`): two Chromium users held on different instances
 * call each other (media piped between the instances), then survive the loss of their
 * instances: one killed (-9), the other stopped (SIGTERM, a rolling restart); then of Redis.
 */
describe('a call across instances, behind nginx', () => {
  let cluster: LaneCluster;
  let browser: Browser;

  async function say(page: Page, text: string): Promise<void> {
    await page.getByTestId('chat-input').fill(text);
    await page.getByTestId('chat-send').click();
  }

  let alice: Page;
  let bob: Page;
  let aliceHome: ServerProcess;
  let bobHome: ServerProcess;

  beforeAll(async () => {
    cluster = await LaneCluster.start('e2e-cluster-call', 3);
    browser = await launchChromium();
    alice = await cluster.open(browser, 'alice');
    aliceHome = await cluster.holding(alice);
    ({ page: bob, home: bobHome } = await cluster.openElsewhere(browser, 'bob', [aliceHome]));
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });
  it('two users on different instances see and hear each other through the pipe, and chat', async () => {
    expect(bobHome).not.toBe(aliceHome);
    await pairUp(alice, bob, { frames: 20 });
    expect(await pairIdOf(alice)).toBe(await pairIdOf(bob));
    await say(alice, 'hello from one instance');
    await bob.getByTestId('chat-log').getByText('hello from one instance').waitFor({ timeout: 5000 });
    await say(bob, 'hello from another');
    await alice.getByTestId('chat-log').getByText('hello from another').waitFor({ timeout: 5000 });
  });

  it("kill -9 of Alice's instance: both are back in the same conversation with video, by themselves", async () => {
    const pairId = await pairIdOf(alice);
    const [aliceSaw, bobSaw] = [await inboundVideo(alice), await inboundVideo(bob)];
    await aliceHome.stop('SIGKILL');
    const killedAt = performance.now();
    await waitForStatus(bob, 'peer-reconnecting', 15_000);
    // Alice's page reconnects through nginx to a live instance and resumes her session there.
    await waitForStatus(alice, 'matched', 20_000);
    await waitForVideoAfter(alice, aliceSaw);
    await waitForVideoAfter(bob, bobSaw);
    const videoAgainMs = performance.now() - killedAt;
    await waitForStatus(bob, 'matched');
    expect(await pairIdOf(alice)).toBe(pairId);
    expect(await pairIdOf(bob)).toBe(pairId);
    await alice.getByTestId('chat-log').getByText('hello from another').waitFor({ timeout: 5000 });
    await say(alice, 'back after the crash');
    await bob.getByTestId('chat-log').getByText('back after the crash').waitFor({ timeout: 5000 });
    console.log(`[cluster-call] kill -9: video on both sides again ${Math.round(videoAgainMs)} ms after the kill`);
  });

  it('SIGTERM of an instance holding the call (a rolling restart): handed over, nobody sees the partner leave', async () => {
    const pairId = await pairIdOf(bob);
    // Alice's instance now: the one that took her session over.
    const current = await cluster.tookOver(0);
    expect((await getStatus(current.url)).connections.active).toBeGreaterThan(0);
    const [aliceSaw, bobSaw] = [await inboundVideo(alice), await inboundVideo(bob)];
    const stopped = current.stop('SIGTERM');
    const stoppedAt = performance.now();
    await stopped;
    await waitForStatus(alice, 'matched', 20_000);
    await waitForStatus(bob, 'matched', 20_000);
    await waitForVideoAfter(alice, aliceSaw);
    await waitForVideoAfter(bob, bobSaw);
    console.log(
      `[cluster-call] SIGTERM: video on both sides again ${Math.round(performance.now() - stoppedAt)} ms after the signal`,
    );
    expect(await pairIdOf(alice)).toBe(pairId);
    expect(await pairIdOf(bob)).toBe(pairId);
    await bob.getByTestId('chat-log').getByText('back after the crash').waitFor({ timeout: 5000 });
    // Alice never saw Bob leave: her page is still in the same conversation (no unmatched notice).
    expect(await alice.getByTestId('notice').count()).toBe(0);
  });
  it('Redis stopped for 10 s mid-call: the call keeps its video; users who start meanwhile are told matching is paused, and are matched once it is back', async () => {
    const pairId = await pairIdOf(alice);
    const carol = await cluster.open(browser, 'carol');
    const dave = await cluster.open(browser, 'dave');
    const stage = (page: Page) => page.getByTestId('search-stage');
    await cluster.redis.stop();
    const stoppedAt = Date.now();
    await carol.getByTestId('start').click();
    await dave.getByTestId('start').click();
    await stage(carol).filter({ hasText: 'Matching is paused' }).waitFor({ timeout: 5000 });
    await stage(dave).filter({ hasText: 'Matching is paused' }).waitFor({ timeout: 5000 });
    // The call goes on: new frames on both sides through the outage (checked at about 5 and 10 s).
    for (const until of [5000, 10_000]) {
      const [aliceSaw, bobSaw] = [await inboundVideo(alice), await inboundVideo(bob)];
      await alice.waitForTimeout(Math.max(0, stoppedAt + until - Date.now()));
      await waitForVideoAfter(alice, aliceSaw, { timeoutMs: 2000 });
      await waitForVideoAfter(bob, bobSaw, { timeoutMs: 2000 });
    }
    expect(await status(carol)).toBe('waiting');
    expect(await status(dave)).toBe('waiting');

    await cluster.redis.start();
    await waitForStatus(carol, 'matched', 20_000);
    await waitForStatus(dave, 'matched', 20_000);
    await waitForVideoAfter(carol, null);
    expect(await pairIdOf(carol)).toBe(await pairIdOf(dave));
    expect(await pairIdOf(alice)).toBe(pairId);
    expect(await status(alice)).toBe('matched');
    expect(await status(bob)).toBe('matched');
  });
});
