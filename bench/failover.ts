/**
 * Conversations across the loss of an instance: three built instances sharing Redis behind nginx
 * (the deploy example, hashing on a per-browser cookie: see test/helpers/laneCluster.ts), two
 * Chromium users in a call on different instances. Each round kills (-9) the instance of one of
 * them (alternately), waits until both are back in the same conversation with video advancing on
 * both sides, and starts the killed instance again. Prints conversations restored and the times
 * from the kill to the session's take-over on another instance, to video on the moved user's
 * page, and to video on both sides.
 * Usage: npm run build && npx tsx bench/failover.ts [rounds=20]
 */
import type { Page } from 'playwright-core';
import { inboundVideo, launchChromium, pairUp, waitForStatus, waitForVideoAfter } from '../test/helpers/browser.js';
import { LaneCluster, pairIdOf } from '../test/helpers/laneCluster.js';
import { summary } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 20);
const name = 'bench-failover';
const cluster = await LaneCluster.start(name, 3);
const browser = await launchChromium();

const restored: boolean[] = [];
const videoAgainMs: number[] = [];
const takenOverMs: number[] = [];
const victimVideoMs: number[] = [];
try {
  const alice = await cluster.open(browser, 'alice');
  const aliceHome = await cluster.holding(alice);
  const { page: bob, home: bobHome } = await cluster.openElsewhere(browser, 'bob', [aliceHome]);
  const homes = new Map<Page, number>([
    [alice, cluster.instances.indexOf(aliceHome)],
    [bob, cluster.instances.indexOf(bobHome)],
  ]);
  await pairUp(alice, bob, { frames: 10 });
  const pairId = await pairIdOf(alice);
  for (let round = 0; round < rounds; round += 1) {
    const victim = round % 2 === 0 ? alice : bob;
    const other = victim === alice ? bob : alice;
    const index = homes.get(victim) ?? 0;
    const home = cluster.instances[index];
    if (!home) throw new Error('lost track of an instance');
    const [victimSaw, otherSaw] = [await inboundVideo(victim), await inboundVideo(other)];
    const killedAtWall = Date.now();
    home.child.kill('SIGKILL');
    const killedAt = performance.now();
    try {
      const takenOverBy = await cluster.tookOver(killedAtWall, 30_000);
      const line = takenOverBy.logs.findLast((entry) => entry.includes('"msg":"session taken over"')) ?? '';
      takenOverMs.push(Number(/"time":(\d+)/.exec(line)?.[1]) - killedAtWall);
      await waitForStatus(victim, 'matched', 30_000);
      await waitForVideoAfter(victim, victimSaw, { timeoutMs: 20_000 });
      victimVideoMs.push(performance.now() - killedAt);
      await waitForVideoAfter(other, otherSaw, { timeoutMs: 20_000 });
      videoAgainMs.push(performance.now() - killedAt);
      // Where each page is now: the victim where it was taken over; the other too if it shared the instance.
      const newHome = cluster.instances.indexOf(takenOverBy);
      for (const [page, at] of homes) if (at === index) homes.set(page, newHome);
      const same = (await pairIdOf(victim)) === pairId && (await pairIdOf(other)) === pairId;
      restored.push(same);
      console.log(
        `round ${round + 1}: video again after ${Math.round(videoAgainMs.at(-1) ?? 0)} ms, same conversation: ${same}`,
      );
    } catch (error) {
      restored.push(false);
      console.log(`round ${round + 1}: not restored: ${error instanceof Error ? error.message : String(error)}`);
    }
    await home.stop('SIGKILL');
    await cluster.restart(index, name);
  }
} finally {
  // What the instances complained of (by message), for rounds that took long.
  const complaints = new Map<string, number>();
  for (const instance of cluster.instances) {
    for (const line of instance.logs) {
      if (!/"level":[45]0/.test(line)) continue;
      const message = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 80);
      complaints.set(message, (complaints.get(message) ?? 0) + 1);
    }
  }
  for (const [message, count] of complaints) console.log(`  logged ${count}×: ${message}`);
  await browser.close();
  await cluster.stop();
}
console.log(`conversations restored: ${restored.filter(Boolean).length} / ${restored.length}`);
console.log(summary('kill -9 → session taken over by another instance, ms', takenOverMs));
console.log(summary("kill -9 → video on the moved user's page, ms", victimVideoMs));
console.log(summary('kill -9 → video on both sides, ms', videoAgainMs));
