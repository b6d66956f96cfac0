import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from '../helpers/axe.js';
import { inboundVideo, launchChromium, openUser, pairUp, waitForRemoteFrames } from '../helpers/browser.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/wait.js';

/** Audio energy the page received from its partner over one second (0: silence). */
async function receivedAudioEnergy(page: Page): Promise<number> {
  const read = () =>
    page.evaluate(async () => {
      const app = (
        window as unknown as { meetopia: { media: { recvTransport?: { getStats(): Promise<RTCStatsReport> } } } }
      ).meetopia;
      const stats = await app.media.recvTransport?.getStats();
      let energy = 0;
      for (const stat of stats?.values() ?? []) {
        if (stat.type === 'inbound-rtp' && stat.kind === 'audio') energy += stat.totalAudioEnergy ?? 0;
      }
      return energy;
    });
  const before = await read();
  await page.waitForTimeout(1000);
  return (await read()) - before;
}

/** What identifies the call: the pair, and the transports and producers the page uses. */
function callIdentity(page: Page): Promise<string> {
  return page.evaluate(() => {
    const app = (
      window as unknown as {
        meetopia: {
          pairId: string | null;
          media: { sendTransport?: { id: string }; recvTransport?: { id: string } };
        };
      }
    ).meetopia;
    return JSON.stringify([app.pairId, app.media.sendTransport?.id, app.media.recvTransport?.id]);
  });
}

async function pressed(page: Page, testId: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute('aria-pressed');
}

describe('the call screen in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    server = await startServerProcess('e2e-call-screen');
    // Three fake cameras and microphones: both pickers list them. Frames of Chromium's second
    // fake camera reach a <video> but never a WebRTC encoder, even in a plain RTCPeerConnection
    // (probably a format encoders do not take, such as a depth format), so a switch mid-call
    // goes to the third one.
    browser = await launchChromium({ cameras: 3 });
    alice = await openUser(browser, server.url);
    bob = await openUser(browser, server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the camera preview and the device pickers before Start, with both media transports already connected', async () => {
    await alice.waitForFunction(() => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
      return video !== null && video.videoWidth > 0 && !video.paused;
    });
    expect(await alice.getByTestId('camera-select').locator('option').count()).toBeGreaterThanOrEqual(2);
    expect(await alice.getByTestId('mic-select').locator('option').count()).toBeGreaterThanOrEqual(1);
    // Nothing of the first match waits for ICE and DTLS: the receive transport is up before any
    // partner (mediasoup-client would otherwise connect it only on the first consumer).
    await alice.waitForFunction(
      () => {
        const media = (
          window as unknown as {
            meetopia: {
              media: { sendTransport?: { connectionState: string }; recvTransport?: { connectionState: string } };
            };
          }
        ).meetopia.media;
        return (
          media.sendTransport?.connectionState === 'connected' && media.recvTransport?.connectionState === 'connected'
        );
      },
      undefined,
      { timeout: 5000 },
    );
    expect(await alice.getByTestId('status').getAttribute('data-status')).toBe('connected');
  });

  it('mute silences what the partner receives and shows peer-muted; unmute brings the sound back', async () => {
    await pairUp(alice, bob, { frames: 10 });
    const sound = await receivedAudioEnergy(bob);
    expect(sound).toBeGreaterThan(0);
    const identity = await callIdentity(alice);

    await alice.getByTestId('mute').click();
    expect(await pressed(alice, 'mute')).toBe('true');
    await bob.getByTestId('peer-muted').waitFor({ timeout: 1000 });
    // Silence within a few seconds (a paused producer sends nothing; what the jitter buffer still
    // held plays out, then the decoder's tail fades to ~1e-10): one-second windows, up to four.
    let muted = Number.POSITIVE_INFINITY;
    for (let window = 0; window < 4 && muted >= sound / 10_000; window += 1) muted = await receivedAudioEnergy(bob);
    expect(muted).toBeLessThan(sound / 10_000);

    await alice.keyboard.press('m');
    expect(await pressed(alice, 'mute')).toBe('false');
    await bob.getByTestId('peer-muted').waitFor({ state: 'detached', timeout: 2000 });
    await bob.waitForTimeout(500);
    expect(await receivedAudioEnergy(bob)).toBeGreaterThan(0);
    expect(await callIdentity(alice)).toBe(identity);
  });

  it('camera off shows peer-camera-off within 1 s; camera on makes frames advance again, same pair, same transports', async () => {
    const identities = [await callIdentity(alice), await callIdentity(bob)];
    await alice.getByTestId('camera').click();
    const offAt = Date.now();
    await bob.getByTestId('peer-camera-off').waitFor({ timeout: 1000 });
    expect(Date.now() - offAt).toBeLessThan(1000);
    expect(await pressed(alice, 'camera')).toBe('true');

    const frozen = (await inboundVideo(bob))?.framesDecoded ?? 0;
    await alice.getByTestId('camera').click();
    await bob.getByTestId('peer-camera-off').waitFor({ state: 'detached', timeout: 2000 });
    await waitForRemoteFrames(bob, { after: frozen + 10 });
    expect([await callIdentity(alice), await callIdentity(bob)]).toEqual(identities);
  });

  it("switching camera mid-call: the partner's video goes on from the new camera, same pair, same transports", async () => {
    const identities = [await callIdentity(alice), await callIdentity(bob)];
    const sentTrack = () =>
      alice.evaluate(async () => {
        const app = (
          window as unknown as {
            meetopia: {
              local: { stream: MediaStream | null };
              media: { sendTransport?: { getStats(): Promise<RTCStatsReport> } };
            };
          }
        ).meetopia;
        const stats = await app.media.sendTransport?.getStats();
        const source = [...(stats?.values() ?? [])].find(
          (stat) => stat.type === 'media-source' && stat.kind === 'video',
        );
        return { sent: source?.trackIdentifier ?? null, shown: app.local.stream?.getVideoTracks()[0]?.id ?? null };
      });
    const before = await sentTrack();
    const third = await alice.getByTestId('camera-select').locator('option').nth(2).getAttribute('value');
    await alice.getByTestId('camera-select').selectOption(third ?? '');
    // The sender carries the camera the page now shows.
    await waitFor(sentTrack, (now) => now.sent !== before.sent && now.sent === now.shown, 5000, 'the new camera sent');
    const switchedAt = (await inboundVideo(bob))?.framesDecoded ?? 0;
    await waitForRemoteFrames(bob, { after: switchedAt + 30 });
    expect(await alice.getByTestId('camera-select').inputValue()).toBe(third);
    expect([await callIdentity(alice), await callIdentity(bob)]).toEqual(identities);
  });

  it("gives the stranger's video at least half of the screen, without sideways scrolling, on a desktop and a phone held either way", async () => {
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
      // Phones held sideways: stacked, the chat once covered the buttons at 640x360.
      { width: 640, height: 360 },
      { width: 844, height: 390 },
    ]) {
      await bob.setViewportSize(viewport);
      await bob.waitForTimeout(300);
      const box = await bob.getByTestId('remote-video').boundingBox();
      expect(box, `${viewport.width}x${viewport.height}`).not.toBeNull();
      const share = ((box?.width ?? 0) * (box?.height ?? 0)) / (viewport.width * viewport.height);
      expect(share, `${viewport.width}x${viewport.height}`).toBeGreaterThanOrEqual(0.5);
      expect(await bob.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      // The controls and the chat input stay on the screen, and nothing covers them.
      for (const id of ['next', 'stop', 'mute', 'camera', 'chat-input']) {
        const control = await bob.getByTestId(id).boundingBox();
        expect((control?.y ?? 0) + (control?.height ?? 0), id).toBeLessThanOrEqual(viewport.height);
        const onTop = await bob.getByTestId(id).evaluate((element) => {
          const box = element.getBoundingClientRect();
          const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          return hit !== null && (element === hit || element.contains(hit));
        });
        expect(onTop, `${id} uncovered at ${viewport.width}x${viewport.height}`).toBe(true);
      }
    }
  });

  it('axe-core finds no serious or critical violation on the main page, before and during a call', async () => {
    expect(await seriousViolations(bob)).toEqual([]);
    const fresh = await openUser(browser, server.url);
    await fresh.getByTestId('start').waitFor();
    expect(await seriousViolations(fresh)).toEqual([]);
    await fresh.context().close();
  });
});
