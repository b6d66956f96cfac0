import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inboundVideo,
  launchChromium,
  launchKillableChromium,
  openUser,
  pairUp,
  waitForRemoteFrames,
  waitForStatus,
} from '../helpers/browser.js';
import { type NamespacedCall, startNamespacedCall } from '../helpers/namespacedCall.js';
import type { NetNamespace } from '../helpers/netns.js';
import { freePortRun } from '../helpers/ports.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { sleep, waitFor } from '../helpers/wait.js';

async function chatTexts(page: Page, from: 'me' | 'peer'): Promise<string[]> {
  return page
    .getByTestId('chat-log')
    .locator(`li[data-from="${from}"]:not([data-pending])`)
    .evaluateAll((items) => items.map((item) => item.textContent?.replace(/^\s*(You|Stranger):\s*/, '').trim() ?? ''));
}

async function pairId(page: Page): Promise<string | null> {
  return page.evaluate(() => (window as unknown as { meetopia: { pairId: string | null } }).meetopia.pairId);
}

async function media(page: Page): Promise<string | null> {
  return page.getByTestId('status').getAttribute('data-media');
}

/** The protocol of the receive transport's selected candidate pair (udp or tcp). */
async function mediaPath(page: Page): Promise<string | null> {
  return page.evaluate(async () => {
    const app = (
      window as unknown as { meetopia: { media: { recvTransport?: { getStats(): Promise<RTCStatsReport> } } } }
    ).meetopia;
    const stats = await app.media.recvTransport?.getStats();
    if (!stats) return null;
    const all = [...stats.values()];
    const transport = all.find((stat) => stat.type === 'transport');
    const pair = all.find((stat) => stat.id === transport?.selectedCandidatePairId);
    const local = all.find((stat) => stat.id === pair?.localCandidateId);
    return local?.protocol ?? null;
  });
}

/** Cuts traffic between the namespace and its host address in both directions, as a real outage does. */
function cut(ns: NetNamespace, protocol: 'udp' | 'tcp', ports?: string): () => void {
  const out = ['OUTPUT', '-p', protocol, '-d', ns.hostIp, ...(ports ? ['--dport', ports] : []), '-j', 'DROP'];
  const back = ['INPUT', '-p', protocol, '-s', ns.hostIp, ...(ports ? ['--sport', ports] : []), '-j', 'DROP'];
  const undo = [ns.block(out), ns.block(back)];
  return () => {
    for (const restore of undo) restore();
  };
}

/** A page's remote video is advancing: more frames decoded now than a moment ago. */
async function videoAdvancing(page: Page): Promise<boolean> {
  const before = (await inboundVideo(page))?.framesDecoded ?? 0;
  await sleep(400);
  const after = (await inboundVideo(page))?.framesDecoded ?? 0;
  return after > before;
}

describe('calls survive bad networks', () => {
  let call: NamespacedCall;
  let ns: NetNamespace;
  let server: ServerProcess;
  let mediaPort: number;
  let alice: Page;
  let bob: Page;

  beforeAll(async () => {
    call = await startNamespacedCall('e2e-resilience', 11, { PING_INTERVAL: '2000', PING_TIMEOUT: '1500' });
    ({ ns, server, mediaPort, inside: alice, outside: bob } = call);
    await pairUp(alice, bob, { frames: 10 });
  });

  afterAll(async () => {
    await call?.close();
  });

  it('a socket drop mid-call: both back to matched, video flowing, chat history intact, queued chat delivered once', async () => {
    await alice.getByTestId('chat-input').fill('before the drop');
    await alice.getByTestId('chat-send').click();
    await bob.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'before the drop' }).waitFor();
    const pair = await pairId(alice);

    // Cut only Alice's signaling (TCP to the web port); media (UDP) keeps going.
    const restore = cut(ns, 'tcp', String(server.port));
    try {
      await waitForStatus(bob, 'peer-reconnecting', 15_000);
      await waitForStatus(alice, 'reconnecting', 15_000);
      // While the socket is down, the call's media still flows and the partner is held.
      expect(await videoAdvancing(bob)).toBe(true);
      await alice.getByTestId('chat-input').fill('typed while offline');
      await alice.getByTestId('chat-send').click();
      await alice.locator('li[data-pending="true"]', { hasText: 'typed while offline' }).waitFor();
    } finally {
      restore();
    }

    await waitForStatus(alice, 'matched', 30_000);
    await waitForStatus(bob, 'matched', 5_000);
    expect(await pairId(alice)).toBe(pair);
    await waitFor(() => videoAdvancing(alice), Boolean, 5000, "Alice's video");
    await waitFor(() => videoAdvancing(bob), Boolean, 5000, "Bob's video");
    await bob.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'typed while offline' }).waitFor();
    expect(await chatTexts(alice, 'me')).toEqual(['before the drop', 'typed while offline']);
    expect(await chatTexts(bob, 'peer')).toEqual(['before the drop', 'typed while offline']);
  });

  it('a media-only outage (UDP dropped 15 s): reconnecting, then video restored by ICE restart on the same pair', async () => {
    const pair = await pairId(alice);
    expect(await mediaPath(alice)).toBe('udp');
    const restore = cut(ns, 'udp');
    const cutAt = Date.now();
    try {
      await waitForStatus(alice, 'reconnecting', 10_000);
      // ICE restart finds the TCP path of the same WebRtcServer while UDP is still blocked.
      await waitForStatus(alice, 'matched', 15_000);
      await waitFor(() => videoAdvancing(alice), Boolean, 5000, "Alice's video over TCP");
      await waitFor(() => videoAdvancing(bob), Boolean, 5000, "Bob's video from Alice over TCP");
      const restoredAfter = Date.now() - cutAt;
      expect(restoredAfter).toBeLessThan(15_000);
      expect(await mediaPath(alice)).toBe('tcp');
      expect(await pairId(alice)).toBe(pair);
      expect(await media(alice)).toBe('video');
      const rest = 15_000 - (Date.now() - cutAt);
      if (rest > 0) await sleep(rest);
    } finally {
      restore();
    }
    await waitFor(() => videoAdvancing(bob), Boolean, 5000, 'video after the outage');
  });

  it('a media outage beyond the limit: text mode on both sides within 10 s, then video back by itself', async () => {
    const pair = await pairId(alice);
    const udp = cut(ns, 'udp');
    const tcp = cut(ns, 'tcp', `${mediaPort}:${mediaPort + 1}`);
    let textAfter = 0;
    try {
      const started = Date.now();
      await waitFor(async () => (await media(alice)) === 'text', Boolean, 10_000, 'Alice in text mode');
      textAfter = Date.now() - started;
      await bob.getByTestId('peer-media').filter({ hasText: 'text mode' }).waitFor({ timeout: 3000 });
      await alice.getByTestId('notice').filter({ hasText: 'switched to text' }).waitFor();
      // Chat keeps working with the same partner meanwhile.
      await bob.getByTestId('chat-input').fill('can you read me?');
      await bob.getByTestId('chat-send').click();
      await alice.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'can you read me?' }).waitFor();
      expect(await pairId(alice)).toBe(pair);
      await sleep(Math.max(0, 15_000 - (Date.now() - started)));
    } finally {
      udp();
      tcp();
    }
    expect(textAfter).toBeLessThan(10_000);
    await waitFor(async () => (await media(alice)) === 'video', Boolean, 15_000, 'Alice back to video');
    await bob.getByTestId('peer-media').waitFor({ state: 'detached', timeout: 5000 });
    await waitFor(() => videoAdvancing(bob), Boolean, 5000, 'Bob sees Alice again');
    await waitFor(() => videoAdvancing(alice), Boolean, 5000, 'Alice sees Bob again');
    expect(await pairId(alice)).toBe(pair);
  });
});

describe('the standby window and server restarts', () => {
  it('a user gone longer than the standby window: the partner is re-queued', async () => {
    const server = await startServerProcess('e2e-standby', { MAX_STANDBY_MS: '3000', STANDBY_SWEEP_MS: '250' });
    const carolProcess = await launchKillableChromium();
    const carolBrowser = carolProcess.browser;
    const daveBrowser = await launchChromium();
    try {
      const carol = await openUser(carolBrowser, server.url);
      const dave = await openUser(daveBrowser, server.url);
      await waitForStatus(carol, 'connected');
      await waitForStatus(dave, 'connected');
      await carol.getByTestId('start').click();
      await dave.getByTestId('start').click();
      await waitForStatus(dave, 'matched');
      await waitForRemoteFrames(dave, { after: 5 });

      // Carol's browser dies without a goodbye (no close frame): the server holds her session.
      carolProcess.kill();
      await waitForStatus(dave, 'peer-reconnecting', 10_000);
      const held = Date.now();
      await waitForStatus(dave, 'waiting', 10_000);
      expect(Date.now() - held).toBeGreaterThan(1500);
      await dave.getByTestId('notice').filter({ hasText: 'lost their connection' }).waitFor();
      const status = (await (await fetch(`${server.url}/status`)).json()) as {
        waiting: number;
        connections: { standby: number };
      };
      expect(status).toMatchObject({ waiting: 1, connections: { standby: 0 } });
    } finally {
      await carolBrowser.close().catch(() => {});
      await daveBrowser.close();
      await server.stop();
    }
  });

  it('a server restart: clients reconnect by themselves and return to the queue', async () => {
    const [port, mediaPort] = [await freePortRun(1, 20000 + Math.floor(Math.random() * 5000)), await freePortRun(2)];
    const env = { PORT: String(port), MEDIA_PORT: String(mediaPort), SHUTDOWN_GRACE_MS: '500' };
    let server = await startServerProcess('e2e-restart-1', env);
    const browser = await launchChromium();
    try {
      const [erin, frank] = [await openUser(browser, server.url), await openUser(browser, server.url)];
      for (const page of [erin, frank]) await waitForStatus(page, 'connected');
      await erin.getByTestId('start').click();
      await frank.getByTestId('start').click();
      await waitForStatus(erin, 'matched');
      await waitForRemoteFrames(erin, { after: 5 });

      await server.stop();
      await waitForStatus(erin, 'reconnecting', 5000);
      await waitForStatus(frank, 'reconnecting', 5000);
      server = await startServerProcess('e2e-restart-2', env);
      // The old sessions are gone: each client starts a new one and, having pressed Start, queues again.
      await waitForStatus(erin, 'matched', 30_000);
      await waitForStatus(frank, 'matched', 5_000);
      await waitForRemoteFrames(erin, { after: 5, timeoutMs: 10_000 });
      await waitForRemoteFrames(frank, { after: 5, timeoutMs: 10_000 });
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
