/**
 * Recovery from bad networks, in real Chromium through the real server. Two pairs, every user in
 * their own network namespace (needs root).
 *   Socket drops: the user's WebSocket TCP connection is killed from outside (`ss -K`, like a
 *     NAT or middlebox dropping it). Timed from the kill until both sides show `matched` again
 *     and the user's remote video is advancing.
 *   Media outages: all the user's media (UDP and TCP to the media ports, both directions) is
 *     dropped for OUTAGE_MS, then restored. Timed from the restore until video advances on both
 *     sides of the pair again.
 * Usage: npx tsx bench/resilience.ts [drops=100] [outages=30]
 */
import type { Browser, Page } from 'playwright-core';
import { inboundVideo, launchChromium, openUser, pairUp } from '../test/helpers/browser.js';
import { NetNamespace } from '../test/helpers/netns.js';
import { freePortRun } from '../test/helpers/ports.js';
import { startServerProcess } from '../test/helpers/serverProcess.js';
import { sleep, waitFor } from '../test/helpers/wait.js';
import { summary } from './lib/stats.js';

const drops = Number(process.argv[2] ?? 100);
const outages = Number(process.argv[3] ?? 30);
const OUTAGE_MS = 3000;
const GIVE_UP_MS = 30_000;

type User = { name: string; ns: NetNamespace; browser: Browser; page: Page; partner?: User };

async function framesDecoded(page: Page): Promise<number> {
  return (await inboundVideo(page))?.framesDecoded ?? 0;
}

/** Resolves when the page's remote video has decoded new frames; polls every 50 ms. */
async function videoFlowing(page: Page, deadline: number): Promise<void> {
  const start = await framesDecoded(page);
  while ((await framesDecoded(page)) <= start) {
    if (Date.now() > deadline) throw new Error('video did not come back');
    await sleep(50);
  }
}

async function statusOf(page: Page): Promise<string | null> {
  return page.getByTestId('status').getAttribute('data-status');
}

/** Polls `check` every 25 ms until it holds; rejects at `deadline`. */
function until(check: () => Promise<boolean>, deadline: number): Promise<unknown> {
  return waitFor(check, Boolean, Math.max(0, deadline - Date.now()), 'the condition', 25);
}

const namespaces = [21, 22, 23, 24].map((index) => NetNamespace.create(index));
const sfu = namespaces[0];
if (!sfu) throw new Error('no namespace');
const mediaPort = await freePortRun(2);
const server = await startServerProcess('bench-resilience', {
  HOST: sfu.hostIp,
  MEDIA_LISTEN_IP: sfu.hostIp,
  ANNOUNCED_ADDRESS: sfu.hostIp,
  MEDIA_PORT: String(mediaPort),
  PING_INTERVAL: '5000',
  PING_TIMEOUT: '3000',
});
const url = `http://${sfu.hostIp}:${server.port}`;
const users: User[] = [];
try {
  for (const [i, ns] of namespaces.entries()) {
    const browser = await launchChromium({ executablePath: ns.chromiumPath(), secureOrigins: [url] });
    users.push({ name: `user${i + 1}`, ns, browser, page: await openUser(browser, url) });
  }
  // Two pairs: 1-2 and 3-4.
  for (const [a, b] of [
    [users[0], users[1]],
    [users[2], users[3]],
  ] as const) {
    if (!a || !b) throw new Error('users');
    await pairUp(a.page, b.page, { frames: 10 });
    a.partner = b;
    b.partner = a;
  }

  const dropTimes: number[] = [];
  let dropFailures = 0;
  for (let run = 0; run < drops; run += 1) {
    const user = users[run % users.length];
    const partner = user?.partner;
    if (!user || !partner) throw new Error('pairs');
    const killedAt = Date.now();
    user.ns.exec('ss', ['-K', 'dst', sfu.hostIp, 'dport', '=', String(server.port)]);
    const deadline = killedAt + GIVE_UP_MS;
    try {
      // The client notices at once; wait until it has left `matched` and come back to it.
      await until(async () => (await statusOf(user.page)) !== 'matched', killedAt + 2000).catch(() => {});
      await until(
        async () => (await statusOf(user.page)) === 'matched' && (await statusOf(partner.page)) === 'matched',
        deadline,
      );
      await videoFlowing(user.page, deadline);
      dropTimes.push(Date.now() - killedAt);
    } catch {
      dropFailures += 1;
    }
    await sleep(200);
  }

  const outageTimes: number[] = [];
  let outageFailures = 0;
  let textFallbacks = 0;
  for (let run = 0; run < outages; run += 1) {
    const user = users[run % users.length];
    const partner = user?.partner;
    if (!user || !partner) throw new Error('pairs');
    const rules = [
      ['OUTPUT', '-p', 'udp', '-d', sfu.hostIp, '-j', 'DROP'],
      ['INPUT', '-p', 'udp', '-s', sfu.hostIp, '-j', 'DROP'],
      ['OUTPUT', '-p', 'tcp', '-d', sfu.hostIp, '--dport', `${mediaPort}:${mediaPort + 1}`, '-j', 'DROP'],
      ['INPUT', '-p', 'tcp', '-s', sfu.hostIp, '--sport', `${mediaPort}:${mediaPort + 1}`, '-j', 'DROP'],
    ];
    const undo = rules.map((rule) => user.ns.block(rule));
    await sleep(OUTAGE_MS);
    if ((await user.page.getByTestId('status').getAttribute('data-media')) === 'text') textFallbacks += 1;
    for (const restore of undo) restore();
    const restoredAt = Date.now();
    try {
      await Promise.all([
        videoFlowing(user.page, restoredAt + GIVE_UP_MS),
        videoFlowing(partner.page, restoredAt + GIVE_UP_MS),
      ]);
      outageTimes.push(Date.now() - restoredAt);
    } catch {
      outageFailures += 1;
    }
    // Let ICE settle before the next outage.
    await until(async () => (await statusOf(user.page)) === 'matched', Date.now() + GIVE_UP_MS).catch(() => {});
    await sleep(1000);
  }

  const rate = (ok: number, total: number) => `${ok}/${total} (${((100 * ok) / total).toFixed(1)}%)`;
  console.log(`resilience, Chromium ${users[0]?.browser.version()}, ${new Date().toISOString()}`);
  console.log(`socket drops: success ${rate(dropTimes.length, drops)}`);
  console.log(summary('socket drop -> resumed with video', dropTimes));
  console.log(`media outages (${OUTAGE_MS} ms, all media cut both ways): success ${rate(outageTimes.length, outages)}`);
  console.log(summary('outage end -> video both ways', outageTimes));
  console.log(`text fallback during a ${OUTAGE_MS} ms outage: ${textFallbacks}/${outages}`);
  if (dropFailures + outageFailures > 0) process.exitCode = 1;
} finally {
  for (const user of users) await user.browser.close().catch(() => {});
  await server.stop();
  for (const ns of namespaces) ns.destroy();
}
