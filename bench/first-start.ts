/**
 * A fresh visitor's first Start: each visitor is a new browser context (no earlier call, camera
 * never opened before) that accepts the rules and clicks Start as soon as its camera preview
 * shows; a warm user is already waiting. Timed inside the page from the click to the first
 * decoded frame of the partner's video.
 * Usage: npx tsx bench/first-start.ts [visitors=20]
 */
import type { Page } from 'playwright-core';
import { launchChromium, openUser, waitForRemoteFrames, waitForStatus } from '../test/helpers/browser.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
import { clickToFirstRemoteFrame } from './lib/page.js';
import { summary } from './lib/stats.js';

const visitors = Number(process.argv[2] ?? 20);

/** Until the page shows its own camera: the preview <video> has a picture and Start can be clicked. */
async function previewShows(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const started = performance.now();
    for (;;) {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
      const start = document.querySelector<HTMLButtonElement>('[data-testid="start"]');
      if (video && video.videoWidth > 0 && video.readyState >= 2 && start && !start.disabled) {
        return performance.now() - started;
      }
      if (performance.now() - started > 20_000) throw new Error('the camera preview never showed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
}

const server = await startServerProcess('bench-first-start', {
  REMATCH_COOLDOWN_MS: '0',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
});
const browser = await launchChromium();
try {
  // The partner: a warm user, waiting again after each visitor leaves.
  const host = await openUser(browser, server.url);
  await waitForStatus(host, 'connected');
  await host.getByTestId('start').click();
  await waitForStatus(host, 'waiting');

  const firstStarts: number[] = [];
  const previews: number[] = [];
  for (let run = 0; run < visitors; run += 1) {
    const loadedAt = Date.now();
    const visitor = await openUser(browser, server.url);
    await previewShows(visitor);
    previews.push(Date.now() - loadedAt);
    firstStarts.push(await clickToFirstRemoteFrame(visitor, 'start'));
    await waitForRemoteFrames(host);
    await visitor.context().close();
    await waitForStatus(host, 'waiting');
  }

  console.log(
    `first Start of fresh visitors, ${visitors} runs, Chromium ${browser.version()}, ${new Date().toISOString()}`,
  );
  console.log(summary('page open -> camera preview and Start ready', previews));
  console.log(summary('first Start -> first remote frame', firstStarts));
  console.log(`samples: ${firstStarts.map(Math.round).join(' ')}`);
} finally {
  await browser.close();
  await server.stop();
}
