/**
 * Call setup latency in real Chromium through the real server (built, as `npm start` runs it):
 *   Start → first remote frame: both users idle with cameras open; the second one clicks Start.
 *   (The very first Start, which also opens the camera, is reported on its own.)
 *   Next  → first remote frame: three users; the one in a call clicks Next and meets the waiting one.
 * Usage: npx tsx bench/call-setup.ts [runs=20]
 */
import { launchChromium, openUser, waitForRemoteFrames, waitForStatus } from '../test/helpers/browser.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
import { clickToFirstRemoteFrame } from './lib/page.js';
import { summary } from './lib/stats.js';

const runs = Number(process.argv[2] ?? 20);
const server = await startServerProcess('bench-call-setup', {
  // The same users meet again and again, faster than people press Start and Next: only the
  // setup is measured, not the matcher's rules or the flood limits.
  REMATCH_COOLDOWN_MS: '0',
  RECENT_PARTNERS: '0',
  SKIPS_PER_10_SECONDS: '1000',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
});
const browser = await launchChromium();
try {
  const [alice, bob, carol] = await Promise.all([1, 2, 3].map(() => openUser(browser, server.url)));
  if (!alice || !bob || !carol) throw new Error('pages');
  for (const page of [alice, bob, carol]) await waitForStatus(page, 'connected');

  // The very first Start of a fresh user: it opens the camera (getUserMedia) and, with the two
  // users on different workers, creates the pipe between their routers. Measured, not averaged in.
  await alice.getByTestId('start').click();
  await waitForStatus(alice, 'waiting');
  const firstStart = await clickToFirstRemoteFrame(bob, 'start');
  await waitForRemoteFrames(alice);
  for (const page of [alice, bob])
    await page
      .getByTestId('stop')
      .click()
      .catch(() => {});
  await carol.getByTestId('start').click();
  await carol.getByTestId('stop').click();
  for (const page of [alice, bob, carol]) await waitForStatus(page, 'connected');

  const startTimes: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    await alice.getByTestId('start').click();
    await waitForStatus(alice, 'waiting');
    startTimes.push(await clickToFirstRemoteFrame(bob, 'start'));
    await bob.getByTestId('stop').click();
    await waitForStatus(alice, 'waiting');
    await alice.getByTestId('stop').click();
    await waitForStatus(alice, 'connected');
    await waitForStatus(bob, 'connected');
  }

  const nextTimes: number[] = [];
  await alice.getByTestId('start').click();
  await bob.getByTestId('start').click();
  await waitForStatus(alice, 'matched');
  await waitForRemoteFrames(alice);
  await carol.getByTestId('start').click();
  await waitForStatus(carol, 'waiting');
  for (let run = 0; run < runs; run += 1) {
    // Alice is in a call and someone waits: her Next meets them.
    nextTimes.push(await clickToFirstRemoteFrame(alice, 'next'));
    await waitForStatus(alice, 'matched');
  }

  console.log(`call setup, ${runs} runs each, Chromium ${browser.version()}, ${new Date().toISOString()}`);
  console.log(`first Start of a fresh user (camera opening, cold pipe): ${Math.round(firstStart)} ms`);
  console.log(summary('Start -> first remote frame', startTimes));
  console.log(summary('Next  -> first remote frame', nextTimes));
  console.log(`samples start: ${startTimes.map(Math.round).join(' ')}`);
  console.log(`samples next:  ${nextTimes.map(Math.round).join(' ')}`);
} finally {
  await browser.close();
  await server.stop();
}
