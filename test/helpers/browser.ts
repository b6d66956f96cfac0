import { type Browser, chromium, type Page } from 'playwright-core';

/** Flags for Debian's Chromium in CI: fake camera and microphone, no sandbox (root), no background traffic. */
export const chromiumArgs = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Background tabs must keep decoding: two users share one browser in these tests.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export type LaunchOptions = {
  /** Another executable, e.g. a wrapper that runs Chromium inside a network namespace. */
  executablePath?: string;
  /**
   * Plain-HTTP origins to treat as secure (camera and WebRTC need a secure context; tests that
   * reach the server on a namespace address instead of localhost have no TLS).
   */
  secureOrigins?: string[];
  extraArgs?: string[];
};

function launchOptions(options: LaunchOptions) {
  const secure = options.secureOrigins?.length
    ? [`--unsafely-treat-insecure-origin-as-secure=${options.secureOrigins.join(',')}`]
    : [];
  return {
    executablePath: options.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...chromiumArgs, ...secure, ...(options.extraArgs ?? [])],
  };
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch(launchOptions(options));
}

/** A Chromium whose process can be killed, to simulate a user vanishing (no goodbye on the socket). */
export async function launchKillableChromium(options: LaunchOptions = {}): Promise<{ browser: Browser; kill(): void }> {
  const server = await chromium.launchServer(launchOptions(options));
  const browser = await chromium.connect(server.wsEndpoint());
  return { browser, kill: () => server.process().kill('SIGKILL') };
}

/** A user: a fresh browser context (own cookies, own camera permission) with the app open. */
export async function openUser(browser: Browser, url: string, options: { denyCamera?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ permissions: options.denyCamera ? [] : ['camera', 'microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`[page error] ${error.message}\n`));
  if (options.denyCamera) {
    await page.addInitScript(() => {
      // What a browser does when the user refuses camera access.
      navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
  }
  await page.goto(url);
  return page;
}

export function status(page: Page): Promise<string | null> {
  return page.getByTestId('status').getAttribute('data-status');
}

export async function waitForStatus(page: Page, expected: string, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction(
    (value) => document.querySelector('[data-testid="status"]')?.getAttribute('data-status') === value,
    expected,
    { timeout: timeoutMs },
  );
}

/** Inbound video figures of the remote <video>'s receive transport (from the browser's own getStats). */
export type InboundVideo = { framesDecoded: number; frameWidth: number; frameHeight: number; bytesReceived: number };

/** The inbound-rtp stats of the track shown in the remote <video> (not mediasoup's probator stream). */
export async function inboundVideo(page: Page): Promise<InboundVideo | null> {
  return page.evaluate(async () => {
    const app = (
      window as unknown as { meetopia?: { media: { recvTransport?: { getStats(): Promise<RTCStatsReport> } } } }
    ).meetopia;
    const element = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
    const track = element?.srcObject instanceof MediaStream ? element.srcObject.getVideoTracks()[0] : undefined;
    const stats = await app?.media.recvTransport?.getStats();
    if (!stats || !track) return null;
    for (const stat of stats.values()) {
      if (stat.type === 'inbound-rtp' && stat.kind === 'video' && stat.trackIdentifier === track.id) {
        return {
          framesDecoded: stat.framesDecoded ?? 0,
          frameWidth: stat.frameWidth ?? 0,
          frameHeight: stat.frameHeight ?? 0,
          bytesReceived: stat.bytesReceived ?? 0,
        };
      }
    }
    return null;
  });
}

/** Waits until the remote video has decoded more frames than `after` (i.e. video is flowing now). */
export async function waitForRemoteFrames(
  page: Page,
  options: { after?: number; timeoutMs?: number } = {},
): Promise<InboundVideo> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const after = options.after ?? 0;
  for (;;) {
    const video = await inboundVideo(page);
    if (video && video.framesDecoded > after) return video;
    if (Date.now() > deadline)
      throw new Error(`no remote frames decoded beyond ${after} (last: ${JSON.stringify(video)})`);
    await page.waitForTimeout(100);
  }
}
