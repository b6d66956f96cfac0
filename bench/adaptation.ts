/**
 * Server-side layer adaptation on a slow link, in real Chromium through the real server. Alice
 * publishes from the host; Bob receives inside a network namespace whose incoming traffic is
 * shaped (tc tbf) for SHAPE_MS, then released, CYCLES times. Needs root.
 * Per cycle: time until Bob's consumer leaves the top layer, time until it is back on the top
 * layer after the release, the longest freeze Bob's browser counted (inbound-rtp freezeCount /
 * totalFreezesDuration) and the longest decoding stall, and the layer moves the server made
 * (meetopia_layer_changes_total from /metrics).
 * Usage: npx tsx bench/adaptation.ts [cycles=10] [kbit=300] [queue-ms=200] [ramp-ms=0] [burst-bytes=4000]
 *   ramp-ms 0: the limit falls at once (a cliff); otherwise the link degrades over that long.
 */
import { statusSchema } from '@meetopia/protocol';
import { pairUp, remoteVideoWatch, watchRemoteVideo } from '../test/helpers/browser.js';
import { waitForFullQuality } from '../test/helpers/mediaReadiness.js';
import { startNamespacedCall } from '../test/helpers/namespacedCall.js';
import { sleep, waitFor } from '../test/helpers/wait.js';
import { summary } from './lib/stats.js';

const cycles = Number(process.argv[2] ?? 10);
const kbit = Number(process.argv[3] ?? 300);
/** How long packets may queue at the bottleneck before it drops them. */
const queueMs = Number(process.argv[4] ?? 200);
/** 0: the limit falls at once (a cliff); else it comes down in steps over this long. */
const rampMs = Number(process.argv[5] ?? 0);
/** Token bucket size: how much may pass at line rate after a pause. */
const burstBytes = Number(process.argv[6] ?? 4000);
const SHAPE_MS = 15_000;
const GIVE_UP_MS = 60_000;

const ADMIN_TOKEN = 'bench-adaptation-admin-token';
const call = await startNamespacedCall('bench-adaptation', 51, { QUALITY_REPORT_INTERVAL_MS: '2000', ADMIN_TOKEN });
const { ns, url, inside: bob, outside: alice } = call;

async function layers(): Promise<number[]> {
  return statusSchema.parse(await (await fetch(`${url}/status`)).json()).consumerLayers.spatial;
}

/** How long until `check` held, or null if it did not within `timeoutMs`. */
function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  return waitFor(check, Boolean, timeoutMs, 'the condition').then(
    (result) => result.afterMs,
    () => null,
  );
}

async function layerChanges(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^meetopia_layer_changes_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

try {
  await pairUp(alice, bob, { frames: 10 });

  const lowered: number[] = [];
  const restored: number[] = [];
  const freezesShaped: number[] = [];
  const freezesAfter: number[] = [];
  const stalls: number[] = [];
  const moves: number[] = [];
  let failures = 0;
  for (let cycle = 0; cycle < cycles; cycle += 1) {
    // Every cycle starts from full quality: both publishers steadily sending the top encoding
    // and both receivers on it (fails with the cause when the call does not get there).
    await waitForFullQuality({
      pages: [alice, bob],
      baseUrl: url,
      adminToken: ADMIN_TOKEN,
      minTopKbps: 550,
      timeoutMs: GIVE_UP_MS,
    });
    await watchRemoteVideo(bob);
    const movesBefore = await layerChanges();
    // Timed from the first step down, whether the limit falls at once or in steps.
    const shapedAt = Date.now();
    const [lift, down] = await Promise.all([
      ns.degradeIngress(kbit, rampMs, { queueMs, burstBytes }),
      until(async () => (await layers())[2] === 1, SHAPE_MS),
    ]);
    await sleep(Math.max(0, SHAPE_MS - (Date.now() - shapedAt)));
    const shaped = await remoteVideoWatch(bob);
    await watchRemoteVideo(bob);
    lift();
    const up = await until(async () => (await layers())[2] === 2, GIVE_UP_MS);
    const after = await remoteVideoWatch(bob);
    const moved = (await layerChanges()) - movesBefore;
    if (down === null || up === null) failures += 1;
    if (down !== null) lowered.push(down);
    if (up !== null) restored.push(up);
    freezesShaped.push(shaped.longestFreezeMs);
    freezesAfter.push(after.longestFreezeMs);
    stalls.push(Math.max(shaped.longestStallMs, after.longestStallMs));
    moves.push(moved);
    console.log(
      `cycle ${cycle + 1}: lowered ${down ?? 'never'} ms, back on top ${up ?? 'never'} ms, longest freeze ${shaped.longestFreezeMs} ms while shaped and ${after.longestFreezeMs} ms after, longest stall ${Math.max(shaped.longestStallMs, after.longestStallMs)} ms, ${moved} layer moves`,
    );
    await sleep(3000);
  }
  const freezes = freezesShaped.map((ms, i) => Math.max(ms, freezesAfter[i] ?? 0));
  console.log(
    `layer adaptation at ${kbit} kbit/s (${rampMs ? `reached over ${rampMs} ms` : 'at once'}, ${queueMs} ms queue, ${burstBytes}-byte bucket), ${cycles} cycles of ${SHAPE_MS / 1000} s, Chromium ${alice.context().browser()?.version()}, ${new Date().toISOString()}`,
  );
  console.log(summary('shaped -> consumer below the top layer', lowered));
  console.log(summary('released -> consumer back on the top layer', restored));
  console.log(summary('longest freeze while shaped (inbound-rtp)', freezesShaped));
  console.log(summary('longest freeze after the release', freezesAfter));
  console.log(summary('longest freeze per cycle', freezes));
  console.log(summary('longest decoding stall per cycle', stalls));
  console.log(summary('layer moves per cycle', moves, ''));
  console.log(
    `cycles over the 2 s freeze target: ${freezes.filter((ms) => ms >= 2000).length}/${cycles}; incomplete cycles: ${failures}`,
  );
} finally {
  await call.close();
}
