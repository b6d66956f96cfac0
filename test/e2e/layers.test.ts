import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  inboundVideo,
  launchChromium,
  openUser,
  outboundLayers,
  pairUp,
  remoteVideoWatch,
  signInAsAdmin,
  watchRemoteVideo,
} from '../helpers/browser.js';
import { waitForFullQuality } from '../helpers/mediaReadiness.js';
import { type NamespacedCall, startNamespacedCall } from '../helpers/namespacedCall.js';
import type { NetNamespace } from '../helpers/netns.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { sleep, waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'e2e-layers-admin-token-42';
/**
 * A call reaches full quality some seconds after it starts (each publisher's bandwidth estimate
 * ramps up before Chrome sends the top encoding, then receivers climb to it); on this 2-core
 * machine that took up to ~15 s. Tests that measure a change from full quality wait for it first.
 */
const FULL_QUALITY_TIMEOUT_MS = 40_000;

/** Saves a top-layer bitrate on the admin page; resolves with the moment Save was clicked. */
async function saveTopLayerKbps(admin: Page, kbps: number): Promise<number> {
  await admin.getByTestId('layer-2-kbps').fill(String(kbps));
  const clickedAt = Date.now();
  await admin.getByTestId('admin-save').click();
  await admin.getByTestId('admin-message').filter({ hasText: 'Saved' }).waitFor();
  return clickedAt;
}

/** The ids a reconnection would change: transports and producers. */
async function mediaIdentity(page: Page): Promise<string> {
  return page.evaluate(() => {
    const media = (
      window as unknown as {
        meetopia: {
          media: {
            sendTransport?: { id: string };
            recvTransport?: { id: string };
            producerIds: Record<string, string>;
          };
        };
      }
    ).meetopia.media;
    return JSON.stringify([media.sendTransport?.id, media.recvTransport?.id, media.producerIds]);
  });
}

// Vitest reports only the last attempt of a retried test: print why each failed attempt failed, so
// that a run passing on its retry still says what went wrong (issue 14's flake causes).
afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  const reasons = (task.result.errors ?? []).map((error) => error.message).join(' | ');
  process.stdout.write(`[attempt ${(task.result.retryCount ?? 0) + 1} of "${task.name}" failed] ${reasons}\n`);
});

describe('the admin changes simulcast layers on a running service', () => {
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let admin: Page;

  beforeAll(async () => {
    server = await startServerProcess('e2e-layers-admin', { ADMIN_TOKEN, QUALITY_REPORT_INTERVAL_MS: '1000' });
    browser = await launchChromium();
    alice = await openUser(browser, server.url);
    bob = await openUser(browser, server.url);
    await pairUp(alice, bob, { frames: 10 });
    admin = await (await browser.newContext()).newPage();
    await admin.goto(`${server.url}/admin`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows each side its own and its partner's network quality, and /status sums them up", async () => {
    for (const page of [alice, bob]) {
      for (const id of ['self-quality', 'peer-quality']) {
        await page.locator(`[data-testid="${id}"][data-quality="good"]`).waitFor({ timeout: 10_000 });
      }
    }
    const { value } = await waitFor(
      () => getStatus(server.url),
      (s) => s.networkHealth.qualityDistribution.good === 2,
      5000,
      'two users classed good',
    );
    expect(value.networkHealth.avgLatency).toEqual(expect.any(Number));
  });

  it('refuses a wrong token on the admin page', async () => {
    await admin.getByTestId('admin-token').fill('not-the-admin-token');
    await admin.getByTestId('admin-signin').click();
    await admin.getByTestId('admin-error').filter({ hasText: 'wrong admin token' }).waitFor();
    expect(await admin.getByTestId('admin-save').count()).toBe(0);
  });

  // Retried once, openly (issue 14). Failures seen: a publisher's top layer fell to 82 kbps in
  // the two seconds after full quality was reached (Chrome's bandwidth estimate dipped); the top
  // layer measured 459 and 450.3 kbps in one-second windows holding a key frame after the cap.
  // So the "before" must hold for a whole two-second window (waited for, bounded), and the cap is
  // read where the encoder applies it (its target bitrate) before the bytes are measured over
  // two seconds. A retry starts again from the default table; two failures in a row still fail.
  it('lowering the top layer to 400 kbps caps every publisher within 5 s, without reconnecting anyone', {
    retry: 1,
  }, async () => {
    if (await admin.getByTestId('admin-token').isVisible()) await signInAsAdmin(admin, ADMIN_TOKEN, 'e2e');
    await admin.getByTestId('status-paired').filter({ hasText: '2' }).waitFor();
    // A retry: the failed attempt's cap is still saved.
    if ((await admin.getByTestId('layer-2-kbps').inputValue()) !== '1200') await saveTopLayerKbps(admin, 1200);
    expect(await admin.getByTestId('layer-2-kbps').inputValue()).toBe('1200');

    // Before: the top layer carries well above the new cap (so the test can fail), steadily.
    const ready = await waitForFullQuality({
      pages: [alice, bob],
      baseUrl: server.url,
      adminToken: ADMIN_TOKEN,
      minTopKbps: 550,
      timeoutMs: FULL_QUALITY_TIMEOUT_MS,
    });
    process.stdout.write(
      `full quality ${ready.afterMs} ms after the test started waiting; last lacking: ${ready.waitedFor.join('; ') || 'nothing'}\n`,
    );
    await waitFor(
      () => Promise.all([outboundLayers(alice, 2000), outboundLayers(bob, 2000)]),
      (both) => both.every((layers) => (layers.r2?.kbps ?? 0) > 550),
      20_000,
      'both publishers sending the top layer above 550 kbps over two seconds',
    );
    const identities = [await mediaIdentity(alice), await mediaIdentity(bob)];

    const savedAt = await saveTopLayerKbps(admin, 400);
    const { value } = await waitFor(
      () => Promise.all([outboundLayers(alice, 200), outboundLayers(bob, 200)]),
      (both) => both.every((layers) => (layers.r2?.targetKbps ?? Number.POSITIVE_INFINITY) <= 400),
      5000 - (Date.now() - savedAt) - 200,
      "both publishers' top-layer encoders aiming at 400 kbps or less",
    );
    expect(Date.now() - savedAt).toBeLessThan(5000);
    for (const layers of value) expect(layers.r2?.targetKbps).toBeGreaterThan(0);
    // The bytes follow and stay there (before the change it sent over 550), and both are still in
    // the same call on the same transports and producers. VP8's rate control first spends what it
    // had buffered at the old rate: in the two seconds right after a 400 kbps target it sent
    // 429–514 kbps (measured at 15 fps), in each two seconds after those 385–448. So the bytes
    // are judged over the two seconds after that.
    await sleep(2000);
    const capped = await Promise.all([outboundLayers(alice, 2000), outboundLayers(bob, 2000)]);
    for (const layers of capped) expect(layers.r2?.kbps).toBeLessThan(500);
    expect([await mediaIdentity(alice), await mediaIdentity(bob)]).toEqual(identities);
    for (const page of [alice, bob])
      expect(await page.getByTestId('status').getAttribute('data-status')).toBe('matched');
    expect(server.logs.some((line) => line.includes('"session resumed"'))).toBe(false);
  });

  // Retried once, openly (issue 14): in 1 of 15 runs a receiver went to the lowest layer instead
  // of the middle one. A retry turns the top layer back on first.
  it("disabling the top layer brings receivers down to the middle layer's frame width", { retry: 1 }, async () => {
    if (!(await admin.getByTestId('layer-2-active').isChecked())) {
      await admin.getByTestId('layer-2-active').check();
      await admin.getByTestId('admin-save').click();
    }
    // Receivers on the (now 400 kbps) top layer first, so that coming down can be seen.
    await waitForFullQuality({
      pages: [alice, bob],
      baseUrl: server.url,
      adminToken: ADMIN_TOKEN,
      minTopKbps: 250,
      timeoutMs: FULL_QUALITY_TIMEOUT_MS,
    });
    const middleWidth = (await outboundLayers(alice)).r1?.frameWidth ?? 0;
    const topWidth = (await outboundLayers(alice)).r2?.frameWidth ?? 0;
    expect(middleWidth).toBeGreaterThan(0);
    expect(topWidth).toBeGreaterThan(middleWidth);
    // Read a moment after the precondition: a load spike on two cores can have moved Bob down
    // meanwhile (seen once in five runs), and the server brings him back.
    await waitFor(
      () => inboundVideo(bob),
      (video) => video?.frameWidth === topWidth,
      15_000,
      'Bob on the top layer',
    );

    await admin.getByTestId('layer-2-active').uncheck();
    await admin.getByTestId('admin-save').click();
    await admin.getByTestId('admin-message').filter({ hasText: 'Saved' }).waitFor();
    // Each receiver decodes its partner's middle encoding as the partner sends it now (Chromium
    // may scale all encodings down for CPU meanwhile: seen once, 480 px instead of 640).
    for (const [receiver, publisher] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await waitFor(
        async () => ({ video: await inboundVideo(receiver), middle: (await outboundLayers(publisher)).r1?.frameWidth }),
        ({ video, middle }) => middle !== undefined && middle > 0 && video?.frameWidth === middle,
        8000,
        'middle-layer width',
      );
    }
    await waitFor(
      () => getStatus(server.url),
      (s) => s.consumerLayers.spatial[2] === 0 && s.consumerLayers.spatial[1] === 2,
      5000,
      'consumers on layer 1',
    );
    await waitFor(
      () => outboundLayers(alice),
      (layers) => (layers.r2?.kbps ?? 0) < 5,
      5000,
      'the top encoding stopped',
    );

    // And back: receivers climb to the full width again by themselves.
    await admin.getByTestId('layer-2-active').check();
    await admin.getByTestId('admin-save').click();
    for (const [receiver, publisher] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await waitFor(
        async () => ({ video: await inboundVideo(receiver), layers: await outboundLayers(publisher) }),
        ({ video, layers }) =>
          (layers.r2?.frameWidth ?? 0) > (layers.r1?.frameWidth ?? 0) && video?.frameWidth === layers.r2?.frameWidth,
        20_000,
        'top-layer width',
      );
    }
  });
});

describe('a receiver on a slow link', () => {
  let call: NamespacedCall;
  let ns: NetNamespace;
  let alice: Page;
  let bob: Page;
  let url: string;

  beforeAll(async () => {
    call = await startNamespacedCall('e2e-layers-slow', 31, { QUALITY_REPORT_INTERVAL_MS: '2000', ADMIN_TOKEN });
    ({ ns, url, inside: bob, outside: alice } = call);
    await pairUp(alice, bob, { frames: 10 });
    // Only Alice's video to Bob is under test. Bob's camera off halves the encoding and
    // decoding on two cores, which otherwise held a publisher's bandwidth estimate under the
    // top layer for 35 s in one CI run in twenty.
    await bob.getByTestId('camera').click();
    await alice.getByTestId('peer-camera-off').waitFor();
  });

  afterAll(async () => {
    await call?.close();
  });

  // Retried once, openly: in 1 of 5 runs on this 2-core machine the picture froze once for
  // 2.1 s while the link degraded (limit 2 s). Two freezes in a row still fail; issue 14 tracks it.
  it('on a link degrading to 300 kbps it drops a layer within 10 s, climbs back once the limit is lifted, and never freezes 2 s', {
    retry: 1,
  }, async () => {
    await waitForFullQuality({
      pages: [alice, bob],
      oneWay: true,
      baseUrl: url,
      adminToken: ADMIN_TOKEN,
      minTopKbps: 550,
      timeoutMs: FULL_QUALITY_TIMEOUT_MS,
    });
    // Bob's consumer of Alice on the top layer; Alice's of Bob's paused camera forwards none.
    expect((await getStatus(url)).consumerLayers.spatial[2]).toBe(1);
    const fullWidth = (await inboundVideo(bob))?.frameWidth ?? 0;
    await watchRemoteVideo(bob);

    // The link degrades over 4 s to 300 kbps, as a fading Wi-Fi or a congested uplink does. (An
    // instant cliff is harsher: bench/adaptation.ts measures both, see docs/performance.md.)
    let lowered = Number.NaN;
    const degrading = ns.degradeIngress(300, 4000);
    try {
      const { afterMs: loweredAfterMs } = await waitFor(
        () => getStatus(url),
        (s) =>
          s.consumerLayers.spatial[2] === 0 &&
          (s.consumerLayers.spatial[0] ?? 0) + (s.consumerLayers.spatial[1] ?? 0) === 1,
        10_000,
        "Bob's consumer below the top layer",
      );
      lowered = loweredAfterMs;
      await degrading;
      // The user sees it: a smaller picture, still moving.
      await waitFor(
        () => inboundVideo(bob),
        (video) => (video?.frameWidth ?? 0) < fullWidth,
        5000,
        'a smaller picture',
      );
      // Still moving on the slow link: at least 3 frames a second.
      const before = (await remoteVideoWatch(bob)).framesDecoded;
      await sleep(8000);
      expect((await remoteVideoWatch(bob)).framesDecoded - before).toBeGreaterThanOrEqual(24);
    } finally {
      (await degrading)();
    }
    const climbed = await waitFor(
      () => getStatus(url),
      (s) => s.consumerLayers.spatial[2] === 1,
      60_000,
      'back on the top layer',
    );
    // Bob decodes the top encoding again, at the size Alice sends it now (on two loaded cores
    // Chromium may still be sending it scaled down for CPU a while after the link recovers).
    await waitFor(
      async () => ({ video: await inboundVideo(bob), top: (await outboundLayers(alice)).r2?.frameWidth ?? 0 }),
      ({ video, top }) => top > 0 && video?.frameWidth === top,
      15_000,
      'the top encoding decoded again',
    );

    const watch = await remoteVideoWatch(bob);
    process.stdout.write(
      `slow link: lowered after ${lowered} ms, back after ${climbed.afterMs} ms, ${JSON.stringify(watch)}\n`,
    );
    expect(lowered).toBeLessThan(10_000);
    expect(watch.longestFreezeMs).toBeLessThan(2000);
    expect(watch.longestStallMs).toBeLessThan(2000);
  });
});
