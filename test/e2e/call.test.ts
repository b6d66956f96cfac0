import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundVideo, launchChromium, openUser, waitForRemoteFrames, waitForStatus } from '../helpers/browser.js';
import { waitForFullQuality } from '../helpers/mediaReadiness.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

type MediaStats = Array<{
  sessionId: string;
  pairId: string | null;
  producers: Array<{ kind: string; streams: Array<{ rid?: string; byteCount: number }> }>;
  consumers: Array<{ kind: string; outbound: { byteCount: number } | null }>;
}>;

async function mediaStats(server: ServerProcess): Promise<MediaStats> {
  const response = await fetch(`${server.url}/api/admin/media`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as MediaStats;
}

/** Waits (5 s at most) until /status has the media path of `calls` calls. */
async function waitForPathsOf(server: ServerProcess, calls: number) {
  const { value } = await waitFor(
    () => getStatus(server.url),
    (status) => status.experience.last5m.turn.callsWithPath === calls,
    5000,
    `the media path of ${calls} calls in /status`,
  );
  return value.experience.last5m.turn;
}

/** Ids of the transports the page uses, to prove Next does not create new ones. */
async function transportIds(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const media = (
      window as unknown as { meetopia: { media: { sendTransport?: { id: string }; recvTransport?: { id: string } } } }
    ).meetopia.media;
    return [media.sendTransport?.id ?? '', media.recvTransport?.id ?? ''];
  });
}

/** Presses Stop when the user is waiting or matched, and waits until they are idle. */
async function stopIfActive(page: Page): Promise<void> {
  const stop = page.getByTestId('stop');
  if (await stop.isEnabled()) await stop.click();
  await waitForStatus(page, 'connected');
}

async function chatLines(page: Page): Promise<Array<{ from: string | null; text: string }>> {
  return page
    .getByTestId('chat-log')
    .locator('li')
    .evaluateAll((items) =>
      items.map((item) => ({ from: item.getAttribute('data-from'), text: item.textContent ?? '' })),
    );
}

describe('strangers in Chromium, through the SFU', () => {
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let carol: Page;

  beforeAll(async () => {
    // Periodic quality reports only once a minute: each call must still say how its media went.
    server = await startServerProcess('e2e-call', {
      ADMIN_TOKEN,
      REMATCH_COOLDOWN_MS: '60000',
      QUALITY_REPORT_INTERVAL_MS: '60000',
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("two users click Start, get matched and decode each other's video through mediasoup", async () => {
    alice = await openUser(browser, server.url);
    bob = await openUser(browser, server.url);
    await waitForStatus(alice, 'connected');
    await waitForStatus(bob, 'connected');
    await alice.getByTestId('start').click();
    await waitForStatus(alice, 'waiting');
    await bob.getByTestId('start').click();
    await waitForStatus(alice, 'matched');
    await waitForStatus(bob, 'matched');
    expect(await alice.getByTestId('status').getAttribute('data-media')).toBe('video');

    const aliceSees = await waitForRemoteFrames(alice, { after: 30 });
    const bobSees = await waitForRemoteFrames(bob, { after: 30 });
    expect(aliceSees.frameWidth).toBeGreaterThan(0);
    expect(bobSees.frameWidth).toBeGreaterThan(0);
    // Each side reports its media path as its first frame arrives (service levels count it).
    await waitForPathsOf(server, 2);

    // The server saw the same media: every producer received bytes on all three simulcast
    // layers, and every consumer sent bytes to the other side. Chrome sends the top layer only
    // once its bandwidth estimate has ramped up: wait for that (bounded) rather than sample early.
    await waitForFullQuality({
      pages: [alice, bob],
      baseUrl: server.url,
      adminToken: ADMIN_TOKEN,
      minTopKbps: 300,
      timeoutMs: 40_000,
    });
    const stats = await mediaStats(server);
    const paired = stats.filter((session) => session.pairId !== null);
    expect(paired).toHaveLength(2);
    for (const session of paired) {
      const video = session.producers.find((producer) => producer.kind === 'video');
      expect(video?.streams.map((stream) => stream.rid).sort()).toEqual(['r0', 'r1', 'r2']);
      for (const stream of video?.streams ?? []) expect(stream.byteCount).toBeGreaterThan(0);
      expect(session.producers.find((producer) => producer.kind === 'audio')?.streams[0]?.byteCount).toBeGreaterThan(0);
      const consumed = session.consumers.find((consumer) => consumer.kind === 'video');
      expect(consumed?.outbound?.byteCount).toBeGreaterThan(0);
    }
  });

  it('a chat message reaches the partner', async () => {
    await alice.getByTestId('chat-input').fill('hello from alice');
    await alice.getByTestId('chat-send').click();
    await bob.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'hello from alice' }).waitFor();
    expect(await chatLines(alice)).toEqual([{ from: 'me', text: expect.stringContaining('hello from alice') }]);
    await bob.getByTestId('chat-input').fill('hi alice');
    await bob.getByTestId('chat-input').press('Enter');
    await alice.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'hi alice' }).waitFor();
  });

  it('Next with a third user waiting re-matches on the same transports and video flows again', async () => {
    carol = await openUser(browser, server.url);
    await waitForStatus(carol, 'connected');
    await carol.getByTestId('start').click();
    await waitForStatus(carol, 'waiting');
    const before = await transportIds(alice);
    const framesBefore = (await inboundVideo(alice))?.framesDecoded ?? 0;

    await alice.getByTestId('next').click();
    await waitForStatus(alice, 'matched');
    await waitForStatus(carol, 'matched');
    await waitForStatus(bob, 'waiting');
    expect(await chatLines(alice)).toEqual([]);

    await waitForRemoteFrames(carol, { after: 10 });
    const aliceNow = await waitForRemoteFrames(alice, { after: 10 });
    expect(aliceNow.framesDecoded).not.toBe(framesBefore);
    // The short call before it and this one: four calls, each with its media path, none relayed.
    expect((await waitForPathsOf(server, 4)).relayed).toBe(0);
    // A skip swaps producers and consumers only: no new transport, so no new ICE or DTLS.
    expect(await transportIds(alice)).toEqual(before);
  });

  it('Stop returns the partner to waiting', async () => {
    await carol.getByTestId('stop').click();
    await waitForStatus(carol, 'connected');
    await waitForStatus(alice, 'waiting');
    await alice.getByTestId('notice').filter({ hasText: 'Stranger left' }).waitFor();
  });

  it('Esc skips to the next stranger', async () => {
    await carol.getByTestId('start').click();
    await waitForStatus(carol, 'matched');
    const partner = (await alice.getByTestId('status').getAttribute('data-status')) === 'matched' ? alice : bob;
    const other = partner === alice ? bob : alice;
    await partner.keyboard.press('Escape');
    await waitForStatus(partner, 'waiting');
    // Carol meets the user who was waiting; the one who pressed Esc waits (their last two
    // partners are in the skip cooldown).
    await waitForStatus(carol, 'matched');
    await waitForStatus(other, 'matched');
  });

  it('without camera access the user is matched in text mode and can chat', async () => {
    for (const page of [alice, bob, carol]) await stopIfActive(page);
    const dave = await openUser(browser, server.url, { denyCamera: true });
    await waitForStatus(dave, 'connected');
    await dave.getByTestId('start').click();
    await waitForStatus(dave, 'waiting');
    expect(await dave.getByTestId('status').getAttribute('data-media')).toBe('text');
    await dave.getByTestId('notice').filter({ hasText: 'camera access was refused' }).waitFor();

    await alice.getByTestId('start').click();
    await waitForStatus(dave, 'matched');
    await waitForStatus(alice, 'matched');
    await alice.getByTestId('peer-media').filter({ hasText: 'text mode' }).waitFor();
    // Dave still sees Alice's video; Alice sees no video from Dave but they can chat.
    await waitForRemoteFrames(dave, { after: 10 });
    await dave.getByTestId('chat-input').fill('no camera here');
    await dave.getByTestId('chat-send').click();
    await alice.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'no camera here' }).waitFor();
    await dave.close();
  });

  it('closing the tab ends the call at once: the partner waits again, not held for a reconnect', async () => {
    for (const page of [alice, bob, carol]) await stopIfActive(page);
    const leaver = await openUser(browser, server.url);
    await waitForStatus(leaver, 'connected');
    await leaver.getByTestId('start').click();
    await alice.getByTestId('start').click();
    await waitForStatus(alice, 'matched');
    const closedAt = Date.now();
    await leaver.close({ runBeforeUnload: true });
    // "At once": well before the heartbeat would notice (15 s) and the 2-minute hold; 5 s leaves
    // room for a loaded 2-core machine.
    await waitForStatus(alice, 'waiting', 5000);
    expect(Date.now() - closedAt).toBeLessThan(5000);
    await alice.getByTestId('notice').filter({ hasText: 'Stranger left' }).waitFor();
  });

  it('a partner who leaves at once leaves no dead video behind: the next partner is seen', async () => {
    // (The earlier users may be waiting: out of the way. Run alone, there are none.)
    for (const page of [alice, bob, carol]) if (page) await stopIfActive(page);
    const [slow, quick, third] = await Promise.all([1, 2, 3].map(() => openUser(browser, server.url)));
    if (!slow || !quick || !third) throw new Error('pages');
    for (const page of [slow, quick, third]) await waitForStatus(page, 'connected');
    // A slow device: it works through the partner's consumers one at a time, slowly…
    const cdp = await slow.context().newCDPSession(slow);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 8 });
    await slow.getByTestId('start').click();
    await waitForStatus(slow, 'waiting');
    await quick.getByTestId('start').click();
    await waitForStatus(quick, 'matched');
    // …so it hears that this partner left before it has created their consumers.
    await quick.getByTestId('stop').click();
    await slow.getByTestId('notice').filter({ hasText: 'Stranger left' }).waitFor();
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await third.getByTestId('start').click();
    await waitForStatus(slow, 'matched');
    await waitForStatus(third, 'matched');
    // The page shows the new partner's video, not a dead track of the one who left.
    await waitForRemoteFrames(slow);
    const videoTracks = await slow.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
      return video?.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks().length : 0;
    });
    expect(videoTracks).toBe(1);
    for (const page of [slow, quick, third]) await page.context().close();
  });

  it('fits a phone-sized screen', async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 667 },
      permissions: ['camera', 'microphone'],
    });
    const phone = await context.newPage();
    await phone.goto(server.url);
    await waitForStatus(phone, 'connected');
    for (const id of ['start', 'next', 'stop', 'chat-input', 'chat-send', 'remote-video', 'local-video', 'status']) {
      const box = await phone.getByTestId(id).boundingBox();
      expect(box, id).not.toBeNull();
      expect(box?.x ?? -1, id).toBeGreaterThanOrEqual(0);
      expect((box?.x ?? 0) + (box?.width ?? 0), id).toBeLessThanOrEqual(375);
      expect((box?.y ?? 0) + (box?.height ?? 0), id).toBeLessThanOrEqual(667);
    }
    const scrollWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(375);
    await context.close();
  });
});
