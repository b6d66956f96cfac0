import { type Browser, chromium, type Page } from 'playwright-core';

/** Flags for Debian's Chromium in CI: fake camera and microphone, no sandbox (root), no background traffic. */
export const chromiumArgs = [
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
  /** Fake cameras offered to the page (default 1; the call screen's camera switch uses 3). */
  cameras?: number;
};

/**
 * Frames per second of the fake camera. Chromium's default, 20, saturates this machine kind's two
 * cores with two users each encoding 720p simulcast and decoding the other (issue 14): Chromium
 * then scales every encoding down for CPU (960x540 instead of 1280x720 in 12 of 33 one-second
 * windows, measured), and tests that measure layers saw a moving target. At 15 no window was
 * CPU-limited in 84. Every encoding, bitrate and layer stays as the app asks.
 */
export const FAKE_CAMERA_FPS = 15;

function launchOptions(options: LaunchOptions) {
  const secure = options.secureOrigins?.length
    ? [`--unsafely-treat-insecure-origin-as-secure=${options.secureOrigins.join(',')}`]
    : [];
  const fakeDevices = `--use-fake-device-for-media-stream=fps=${FAKE_CAMERA_FPS},device-count=${options.cameras ?? 1}`;
  return {
    executablePath: options.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...chromiumArgs, fakeDevices, ...secure, ...(options.extraArgs ?? [])],
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

/**
 * A user's page size: a phone held sideways. Painting two users' pages at Playwright's default
 * 1280x720 cost Chromium's GPU process (software compositing) 66 % of a core on this 2-core
 * machine kind; at 640x360 it costs 13 %, and the whole machine went from 93 % to 64 % busy in a
 * call (issue 14, measured over 30 s). Simulcast layers, frame sizes and bitrates do not depend on
 * the page size; tests of the layout set their own.
 */
export const USER_VIEWPORT = { width: 640, height: 360 };

export type OpenUserOptions = {
  denyCamera?: boolean;
  /**
   * Accept the rules gate (18+ and the site's rules) as soon as it shows, as a returning visitor
   * would have (default true). Tests of the gate itself pass false.
   */
  acceptRules?: boolean;
  /** The page's size (default {@link USER_VIEWPORT}). */
  viewport?: { width: number; height: number };
  /** Cookies the browser context has for the page's site before it opens. */
  cookies?: Array<{ name: string; value: string }>;
};

/** A user: a fresh browser context (own cookies, own camera permission) with the app open. */
export async function openUser(browser: Browser, url: string, options: OpenUserOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    permissions: options.denyCamera ? [] : ['camera', 'microphone'],
    viewport: options.viewport ?? USER_VIEWPORT,
  });
  if (options.cookies) await context.addCookies(options.cookies.map((cookie) => ({ ...cookie, url })));
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`[page error] ${error.message}\n`));
  if (options.acceptRules ?? true) {
    await page.addInitScript(() => {
      // Clicks the gate's accept button whenever it appears (the page remembers it per rules version).
      // No named functions in here: tsx would wrap them in a helper the page does not have.
      new MutationObserver(() => {
        const button = document.querySelector<HTMLButtonElement>('[data-testid="rules-accept"]');
        if (button && !button.dataset.autoAccepted) {
          button.dataset.autoAccepted = 'true';
          button.click();
        }
      }).observe(document, { childList: true, subtree: true });
    });
  }
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

/**
 * Two users meet: both connected, `a` presses Start and waits, `b` presses Start, both are
 * matched; with `frames`, until each has decoded that many frames of the other's video.
 */
export async function pairUp(a: Page, b: Page, options: { frames?: number } = {}): Promise<void> {
  for (const page of [a, b]) await waitForStatus(page, 'connected');
  await a.getByTestId('start').click();
  await waitForStatus(a, 'waiting');
  await b.getByTestId('start').click();
  await waitForStatus(a, 'matched');
  await waitForStatus(b, 'matched');
  if (options.frames !== undefined) {
    await waitForRemoteFrames(a, { after: options.frames });
    await waitForRemoteFrames(b, { after: options.frames });
  }
}

/** Inbound video figures of the remote <video>'s receive transport (from the browser's own getStats). */
export type InboundVideo = {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
  /** The track shown: a new consumer (a new partner, or the same one back from elsewhere) is a new track. */
  trackId: string;
};

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
          trackId: track.id,
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

/**
 * Waits until the remote video advances beyond what `before` showed: more frames of the same
 * track, or frames of a new one (its consumer was made anew, e.g. after the partner moved).
 */
export async function waitForVideoAfter(
  page: Page,
  before: InboundVideo | null,
  options: { frames?: number; timeoutMs?: number } = {},
): Promise<InboundVideo> {
  const frames = options.frames ?? 5;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const video = await inboundVideo(page);
    if (video) {
      const sameTrack = before !== null && video.trackId === before.trackId;
      if (video.framesDecoded > (sameTrack ? before.framesDecoded : 0) + frames) return video;
    }
    if (Date.now() > deadline) throw new Error(`remote video did not advance (last: ${JSON.stringify(video)})`);
    await page.waitForTimeout(50);
  }
}

/** What a page's remote video went through since `watchRemoteVideo`. */
export type RemoteVideoWatch = {
  /** Longest freeze Chromium counted (inbound-rtp freezeCount / totalFreezesDuration), ms. */
  longestFreezeMs: number;
  freezes: number;
  /** Longest time without a newly decoded frame, sampled every 100 ms, ms. */
  longestStallMs: number;
  framesDecoded: number;
};

/**
 * Starts watching, inside the page, the remote video's inbound-rtp stats. Each increment of
 * freezeCount comes with that freeze's duration in totalFreezesDuration, so sampling often gives
 * the longest single freeze. A new remote track (new partner, new consumer) is followed.
 */
export async function watchRemoteVideo(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Watch = {
      longestFreezeMs: number;
      freezes: number;
      longestStallMs: number;
      framesDecoded: number;
      last: { track: string; freezeCount: number; freezeSeconds: number; frames: number; changedAt: number } | null;
      timer: ReturnType<typeof setInterval>;
    };
    const holder = window as unknown as {
      meetopia: { media: { recvTransport?: { getStats(): Promise<RTCStatsReport> } } };
      remoteVideoWatch?: Watch;
    };
    if (holder.remoteVideoWatch) clearInterval(holder.remoteVideoWatch.timer);
    const watch: Watch = {
      longestFreezeMs: 0,
      freezes: 0,
      longestStallMs: 0,
      framesDecoded: 0,
      last: null,
      timer: setInterval(async () => {
        const element = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
        const track = element?.srcObject instanceof MediaStream ? element.srcObject.getVideoTracks()[0] : undefined;
        const stats = await holder.meetopia.media.recvTransport?.getStats();
        if (!track || !stats) return;
        for (const stat of stats.values()) {
          if (stat.type !== 'inbound-rtp' || stat.kind !== 'video' || stat.trackIdentifier !== track.id) continue;
          const now = performance.now();
          const current = {
            track: track.id,
            freezeCount: stat.freezeCount ?? 0,
            freezeSeconds: stat.totalFreezesDuration ?? 0,
            frames: stat.framesDecoded ?? 0,
            changedAt: now,
          };
          const last = watch.last;
          if (last && last.track === current.track) {
            if (current.freezeCount > last.freezeCount) {
              watch.freezes += current.freezeCount - last.freezeCount;
              const ms = (current.freezeSeconds - last.freezeSeconds) * 1000;
              watch.longestFreezeMs = Math.max(watch.longestFreezeMs, ms);
            }
            if (current.frames === last.frames) current.changedAt = last.changedAt;
            watch.longestStallMs = Math.max(watch.longestStallMs, now - current.changedAt);
            watch.framesDecoded += Math.max(0, current.frames - last.frames);
          }
          watch.last = current;
        }
      }, 100),
    };
    holder.remoteVideoWatch = watch;
  });
}

/** Reads (and keeps running) the watch started by `watchRemoteVideo`. */
export async function remoteVideoWatch(page: Page): Promise<RemoteVideoWatch> {
  return page.evaluate(() => {
    const watch = (window as unknown as { remoteVideoWatch?: RemoteVideoWatch }).remoteVideoWatch;
    if (!watch) throw new Error('watchRemoteVideo was not started');
    const { longestFreezeMs, freezes, longestStallMs, framesDecoded } = watch;
    return {
      longestFreezeMs: Math.round(longestFreezeMs),
      freezes,
      longestStallMs: Math.round(longestStallMs),
      framesDecoded,
    };
  });
}

/** Per simulcast encoding (rid) of the page's video producer: bitrate over `windowMs` and frame size. */
export async function outboundLayers(
  page: Page,
  windowMs = 1000,
): Promise<Record<string, { kbps: number; targetKbps: number | null; frameWidth: number; active: boolean }>> {
  return page.evaluate(async (windowMs) => {
    const app = window as unknown as {
      meetopia: { media: { sendTransport?: { getStats(): Promise<RTCStatsReport> } } };
    };
    const transport = app.meetopia.media.sendTransport;
    if (!transport) throw new Error('no send transport');
    const first = await transport.getStats();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const second = await transport.getStats();
    const layers: Record<string, { kbps: number; targetKbps: number | null; frameWidth: number; active: boolean }> = {};
    for (const stat of second.values()) {
      if (stat.type !== 'outbound-rtp' || stat.kind !== 'video' || !stat.rid) continue;
      const before = [...first.values()].find((other) => other.id === stat.id);
      const bits = (stat.bytesSent - (before?.bytesSent ?? stat.bytesSent)) * 8;
      const ms = stat.timestamp - (before?.timestamp ?? stat.timestamp);
      layers[stat.rid] = {
        kbps: ms > 0 ? bits / ms : 0,
        // What the encoder aims at now (a cap shows here at once; bytes lag behind key frames).
        targetKbps: typeof stat.targetBitrate === 'number' ? stat.targetBitrate / 1000 : null,
        frameWidth: stat.frameWidth ?? 0,
        active: stat.active ?? true,
      };
    }
    return layers;
  }, windowMs);
}

/** The local candidate of each transport's selected pair, as the browser reports it. */
export async function selectedLocalCandidates(
  page: Page,
): Promise<Array<{ direction: string; candidateType: string; relayProtocol?: string }>> {
  return page.evaluate(async () => {
    type Media = {
      sendTransport?: { getStats(): Promise<RTCStatsReport> };
      recvTransport?: { getStats(): Promise<RTCStatsReport> };
    };
    const media = (window as unknown as { meetopia: { media: Media } }).meetopia.media;
    const result: Array<{ direction: string; candidateType: string; relayProtocol?: string }> = [];
    for (const [direction, transport] of [
      ['send', media.sendTransport],
      ['recv', media.recvTransport],
    ] as const) {
      const stats = [...((await transport?.getStats())?.values() ?? [])];
      const pairId = stats.find((stat) => stat.type === 'transport')?.selectedCandidatePairId;
      const pair = stats.find((stat) => stat.id === pairId);
      const local = stats.find((stat) => stat.id === pair?.localCandidateId);
      result.push({ direction, candidateType: local?.candidateType ?? 'none', relayProtocol: local?.relayProtocol });
    }
    return result;
  });
}

/** Signs in on the admin page already open in `page`, as the named admin. */
export async function signInAsAdmin(page: Page, token: string, name: string): Promise<void> {
  await page.getByTestId('admin-token').fill(token);
  await page.getByTestId('admin-name').fill(name);
  await page.getByTestId('admin-signin').click();
}
