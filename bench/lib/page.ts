import type { Page } from 'playwright-core';

/**
 * Clicks a control and measures, inside the page, the time until the remote <video> shows a
 * decoded frame of a track other than the one it showed before the click (a new partner).
 */
export async function clickToFirstRemoteFrame(page: Page, testId: string, timeoutMs = 20_000): Promise<number> {
  return page.evaluate(
    async ({ testId, timeoutMs }) => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
      // No named inner functions here: tsx would wrap them in a helper the page does not have.
      const before = video?.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0]?.id : undefined;
      const button = document.querySelector<HTMLButtonElement>(`[data-testid="${testId}"]`);
      if (!button || !video) throw new Error('page not ready');
      const started = performance.now();
      button.click();
      for (;;) {
        const track = video.srcObject instanceof MediaStream ? video.srcObject.getVideoTracks()[0] : undefined;
        if (track && track.id !== before) break;
        if (performance.now() - started > timeoutMs) throw new Error(`no new remote track after ${testId}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The first frame of the new track the page presents (no stats polling: getStats loads the browser).
      const shown = await Promise.race([
        new Promise<number>((resolve) => video.requestVideoFrameCallback((now) => resolve(now))),
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`no new remote frame after ${testId}`)), timeoutMs),
        ),
      ]);
      return shown - started;
    },
    { testId, timeoutMs },
  );
}
