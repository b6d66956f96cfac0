/**
 * Server-side layer adaptation on a slow link, in real Chromium through the real server. Alice
 * publishes from the host; Bob receives inside a network namespace whose incoming traffic is
 * shaped (tc tbf) for SHAPE_MS, then released, CYCLES times. Needs root.
 * Per cycle: time until Bob's consumer leaves the top layer, time until it is back on the top
 * layer after the release, the longest freeze Bob's browser counted (inbound-rtp freezeCount /
 * totalFreezesDuration) and the longest decoding stall, and the layer moves the server made
 * (meetopia_layer_changes_total from /metrics).
 * Usage: npx tsx bench/adaptation.ts [cycles=10] [rate=300kbit]
 */
import { statusSchema } from '@meetopia/protocol';
import {
  launchChromium,
  openUser,
  remoteVideoWatch,
  waitForRemoteFrames,
  waitForStatus,
  watchRemoteVideo,
} from '../test/helpers/browser.js';
import { NetNamespace } from '../test/helpers/netns.js';
import { freePortRun } from '../test/helpers/ports.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
import { summary } from './lib/stats.js';

const cycles = Number(process.argv[2] ?? 10);
const rate = process.argv[3] ?? '300kbit';
const SHAPE_MS = 15_000;
const GIVE_UP_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ns = NetNamespace.create(51);
const server = await startServerProcess('bench-adaptation', {
  HOST: ns.hostIp,
  MEDIA_LISTEN_IP: ns.hostIp,
  ANNOUNCED_ADDRESS: ns.hostIp,
  MEDIA_PORT: String(await freePortRun(2)),
  QUALITY_REPORT_INTERVAL_MS: '2000',
});
const url = `http://${ns.hostIp}:${server.port}`;
const hostBrowser = await launchChromium({ secureOrigins: [url] });
const nsBrowser = await launchChromium({ executablePath: ns.chromiumPath(), secureOrigins: [url] });

async function layers(): Promise<number[]> {
  return statusSchema.parse(await (await fetch(`${url}/status`)).json()).consumerLayers.spatial;
}

/** Polls until `check` holds; resolves with the time it took, or null after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) return null;
    await sleep(100);
  }
  return Date.now() - started;
}

async function layerChanges(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^meetopia_layer_changes_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

try {
  const alice = await openUser(hostBrowser, url);
  const bob = await openUser(nsBrowser, url);
  for (const page of [alice, bob]) await waitForStatus(page, 'connected');
  await alice.getByTestId('start').click();
  await waitForStatus(alice, 'waiting');
  await bob.getByTestId('start').click();
  await waitForStatus(bob, 'matched');
  await waitForRemoteFrames(bob, { after: 10 });
  await until(async () => (await layers())[2] === 2, GIVE_UP_MS);

  const lowered: number[] = [];
  const restored: number[] = [];
  const freezes: number[] = [];
  const stalls: number[] = [];
  const moves: number[] = [];
  let failures = 0;
  for (let cycle = 0; cycle < cycles; cycle += 1) {
    await watchRemoteVideo(bob);
    const movesBefore = await layerChanges();
    const lift = ns.shapeIngress(rate);
    const shapedAt = Date.now();
    const down = await until(async () => (await layers())[2] === 1, SHAPE_MS);
    await sleep(Math.max(0, SHAPE_MS - (Date.now() - shapedAt)));
    lift();
    const up = await until(async () => (await layers())[2] === 2, GIVE_UP_MS);
    const watch = await remoteVideoWatch(bob);
    const moved = (await layerChanges()) - movesBefore;
    if (down === null || up === null) failures += 1;
    if (down !== null) lowered.push(down);
    if (up !== null) restored.push(up);
    freezes.push(watch.longestFreezeMs);
    stalls.push(watch.longestStallMs);
    moves.push(moved);
    console.log(
      `cycle ${cycle + 1}: lowered ${down ?? 'never'} ms, back on top ${up ?? 'never'} ms, longest freeze ${watch.longestFreezeMs} ms (${watch.freezes} freezes), longest stall ${watch.longestStallMs} ms, ${moved} layer moves`,
    );
    await sleep(3000);
  }
  console.log(
    `layer adaptation at ${rate}, ${cycles} cycles of ${SHAPE_MS / 1000} s, Chromium ${hostBrowser.version()}, ${new Date().toISOString()}`,
  );
  console.log(summary('shaped -> consumer below the top layer', lowered));
  console.log(summary('released -> consumer back on the top layer', restored));
  console.log(summary('longest freeze per cycle (inbound-rtp)', freezes));
  console.log(summary('longest decoding stall per cycle', stalls));
  console.log(summary('layer moves per cycle', moves, ''));
  console.log(
    `cycles over the 2 s freeze target: ${freezes.filter((ms) => ms >= 2000).length}/${cycles}; incomplete cycles: ${failures}`,
  );
} finally {
  await hostBrowser.close();
  await nsBrowser.close();
  await server.stop();
  ns.destroy();
}
