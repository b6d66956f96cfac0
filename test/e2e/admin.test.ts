import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from '../helpers/axe.js';
import {
  launchChromium,
  openUser,
  pairUp,
  signInAsAdmin,
  waitForRemoteFrames,
  waitForStatus,
} from '../helpers/browser.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN_TOKEN = 'e2e-admin-page-token-0123';

/** What a chart draws: uPlot's own data arrays (x in seconds, then one array per series) and labels. */
async function chartData(page: Page, id: string): Promise<{ labels: string[]; data: Array<Array<number | null>> }> {
  return page.evaluate((id) => {
    const figure = document.querySelector(`[data-testid="chart-${id}"]`) as
      | (HTMLElement & {
          uplot?: { data: Array<ArrayLike<number | null>>; series: Array<{ label?: string }> };
        })
      | null;
    const chart = figure?.uplot;
    if (!chart) throw new Error(`chart ${id} is not drawn`);
    return {
      labels: chart.series.slice(1).map((series) => String(series.label)),
      data: chart.data.map((values) => Array.from(values)),
    };
  }, id);
}

/** The last value of each series of a chart, and the time of its last sample (ms). */
async function latest(page: Page, id: string): Promise<{ at: number; values: Array<number | null> }> {
  const { data } = await chartData(page, id);
  const [x, ...series] = data;
  const last = (x?.length ?? 0) - 1;
  return { at: (x?.[last] ?? 0) * 1000, values: series.map((values) => values[last] ?? null) };
}

describe('the admin page: live charts and service levels', () => {
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let admin: Page;
  /** The longest any test call can have taken from a click to the first frames, ms. */
  let longestCallMs = 0;

  beforeAll(async () => {
    server = await startServerProcess('e2e-admin', { ADMIN_TOKEN, QUALITY_REPORT_INTERVAL_MS: '1000' });
    browser = await launchChromium();
    alice = await openUser(browser, server.url);
    bob = await openUser(browser, server.url);
    carol = await openUser(browser, server.url);
    admin = await (await browser.newContext()).newPage();
    admin.on('pageerror', (error) => process.stderr.write(`[admin page error] ${error.message}\n`));
    await admin.goto(`${server.url}/admin`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('/status experience figures match what the calls did: two calls, one reconnection, all successful', async () => {
    // Call 1: Alice and Bob.
    let started = Date.now();
    await pairUp(alice, bob);
    await Promise.all([waitForRemoteFrames(alice), waitForRemoteFrames(bob)]);
    longestCallMs = Math.max(longestCallMs, Date.now() - started);

    // Call 2: Carol waits, Alice presses Next and meets her (Bob waits for someone new).
    // Carol's connect time runs from her own Start (her wait included), Alice's from her Next.
    await waitForStatus(carol, 'connected');
    started = Date.now();
    await carol.getByTestId('start').click();
    await waitForStatus(carol, 'waiting');
    await alice.getByTestId('next').click();
    await waitForStatus(carol, 'matched');
    await waitForStatus(alice, 'matched');
    await Promise.all([waitForRemoteFrames(alice, { after: 0 }), waitForRemoteFrames(carol)]);
    longestCallMs = Math.max(longestCallMs, Date.now() - started);

    // One reconnection: Alice's socket drops; she comes back to the same conversation.
    await alice.evaluate(() =>
      (
        window as unknown as { meetopia: { signal: { simulateSocketLoss(): void } } }
      ).meetopia.signal.simulateSocketLoss(),
    );
    await waitForStatus(alice, 'matched', 20_000);

    const { value } = await waitFor(
      () => getStatus(server.url),
      (s) =>
        s.experience.last5m.connect.reports === 4 &&
        s.experience.last5m.reconnection.reports === 1 &&
        s.experience.last5m.turn.callsWithPath === 4,
      20_000,
      'four call reports, one reconnection and the media path of four calls',
    );
    const figures = value.experience.last5m;
    process.stdout.write(`experience after two calls and a reconnection: ${JSON.stringify(figures)}\n`);
    // Two conversations are four calls (one per user), each reported once.
    expect(figures.calls).toBe(4);
    expect(value.experience.matchesPerMinute).toBe(2);
    // Connect times are what the browsers measured: positive, and no longer than the test saw.
    expect(figures.connect.p50Ms).toBeGreaterThan(0);
    expect(figures.connect.p95Ms).toBeLessThanOrEqual(longestCallMs);
    // The reconnection recovered, quickly; the server saw it as a resume.
    expect(figures.reconnection).toMatchObject({ reports: 1, recoveredInTime: 1, successShare: 1 });
    expect(figures.resumes).toBe(1);
    // Nothing fell back to text and nothing went through TURN (loopback, UDP).
    expect(figures.fallback).toEqual({ fallbacks: 0, rate: 0 });
    expect(figures.turn).toEqual({ callsWithPath: 4, relayed: 0, share: 0 });
    expect(value.experience.last1h).toEqual(figures);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^meetopia_call_connect_seconds_count 4$/m);
    expect(metrics).toMatch(/^meetopia_reconnection_seconds_count\{outcome="recovered"\} 1$/m);
    expect(metrics).toMatch(/^meetopia_service_reconnection_success_ratio\{window="5m"\} 1$/m);
  });

  it('the admin charts draw data that match /status', async () => {
    await signInAsAdmin(admin, ADMIN_TOKEN, 'e2e');
    await admin.getByTestId('chart-users').waitFor();

    // Both the chart and /status change over time: at some moment after a fresh sample, every
    // charted figure equals /status read right then.
    const compared: string[] = [];
    const { value } = await waitFor(
      async () => {
        const users = await latest(admin, 'users');
        const now = await getStatus(server.url);
        const [matches, wait, quality, layers, cpu] = await Promise.all(
          ['matches', 'wait', 'quality', 'layers', 'cpu'].map((id) => latest(admin, id)),
        );
        const drawn = {
          users: users.values,
          matches: matches?.values,
          wait: wait?.values,
          quality: quality?.values,
          layers: layers?.values,
        };
        const expected = {
          users: [now.connections.active, now.waiting, now.connections.paired],
          matches: [now.experience.matchesPerMinute],
          wait: [now.matching.waitMs.p95 === null ? null : now.matching.waitMs.p95 / 1000],
          quality: [
            now.networkHealth.qualityDistribution.good,
            now.networkHealth.qualityDistribution.fair,
            now.networkHealth.qualityDistribution.poor,
          ],
          layers: [...now.consumerLayers.spatial, now.consumerLayers.none],
        };
        compared.push(JSON.stringify({ drawn, expected }));
        return { drawn, expected, at: users.at, cpu: cpu?.values ?? [], workers: now.workers.length };
      },
      (sample) => JSON.stringify(sample.drawn) === JSON.stringify(sample.expected),
      30_000,
      'a chart sample equal to /status',
      500,
    );
    process.stdout.write(`charts matched /status after ${compared.length} reads: ${compared.at(-1)}\n`);
    // The users chart shows the three users of the first test, two of them paired.
    expect(value.expected.users).toEqual([3, 1, 2]);
    // Drawn at the sample's time (the server's clock; same machine), and recent.
    expect(Math.abs(Date.now() - value.at)).toBeLessThan(15_000);
    // One CPU series per worker, in % of a core.
    expect(value.cpu).toHaveLength(value.workers);
    for (const percent of value.cpu) {
      if (percent !== null) expect(percent).toBeGreaterThanOrEqual(0);
    }
    const { labels } = await chartData(admin, 'layers');
    expect(labels).toEqual(['Low', 'Middle', 'High', 'None']);
  });

  it('shows the service levels against their targets, green exactly when met', async () => {
    const { last5m: now, targets } = (await getStatus(server.url)).experience;
    // Connect times are what this machine took (a speed target is a bench's business, not a
    // test's): the verdict must say whether they meet it. The other figures are fixed by the calls.
    const connectVerdict = (ms: number | null) =>
      (ms ?? Number.POSITIVE_INFINITY) < targets.connectAvgMs ? 'ok' : 'miss';
    const expected = {
      'connect-p50': connectVerdict(now.connect.p50Ms),
      'connect-avg': connectVerdict(now.connect.avgMs),
      reconnection: 'ok',
      fallback: 'ok',
      turn: 'ok',
    };
    for (const [id, verdict] of Object.entries(expected)) {
      const cell = admin.getByTestId(`sl-${id}-5m`);
      await expect.poll(() => cell.getAttribute('data-verdict'), { timeout: 5000 }).toBe(verdict);
    }
    expect(await admin.getByTestId('sl-reconnection-5m').textContent()).toContain('100 %');
    expect(await admin.getByTestId('sl-connect-avg-5m').textContent()).toContain(
      `${((now.connect.avgMs ?? 0) / 1000).toFixed(2)} s`,
    );
    // Red and green are not the only cue: each cell says whether it meets its target.
    expect(await admin.getByTestId('sl-turn-5m').textContent()).toContain('meets target');
  });

  it('axe-core finds no serious or critical accessibility violations, signed out, and signed in on each tab', async () => {
    const signedOut = await (await browser.newContext()).newPage();
    await signedOut.goto(`${server.url}/admin`);
    await signedOut.getByTestId('admin-signin').waitFor();
    expect(await seriousViolations(signedOut)).toEqual([]);
    await signedOut.close();

    await admin.getByTestId('admin-tab-live').click();
    await admin.getByTestId('chart-cpu').waitFor();
    expect(await seriousViolations(admin)).toEqual([]);

    await admin.getByTestId('admin-tab-moderation').click();
    await admin.getByTestId('safety-save').waitFor();
    expect(await seriousViolations(admin)).toEqual([]);
  });
});

describe('the admin page: moderation tab', () => {
  let server: ServerProcess;
  let browser: Browser;
  let admin: Page;

  beforeAll(async () => {
    server = await startServerProcess('e2e-admin-moderation', { ADMIN_TOKEN });
    browser = await launchChromium();
    admin = await (await browser.newContext()).newPage();
    admin.on('pageerror', (error) => process.stderr.write(`[admin page error] ${error.message}\n`));
    await admin.goto(`${server.url}/admin`);
    await signInAsAdmin(admin, ADMIN_TOKEN, 'e2e-moderator');
    await admin.getByTestId('admin-tab-moderation').click();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('bans by hand and lifts the ban, with reasons, and the audit log names the admin', async () => {
    await admin.getByTestId('safety-save').waitFor();
    expect(await admin.getByTestId('moderation-reports').getAttribute('data-count')).toBe('0');
    const device = 'e2e-device-hash-0123456789abcdef';
    await admin.getByTestId('ban-device').fill(device);
    // No reason: refused on the page with the schema's sentence, nothing sent.
    await admin.getByTestId('ban-submit').click();
    await admin.getByTestId('admin-error').filter({ hasText: 'reason' }).waitFor();
    expect(await admin.getByTestId('bans').getAttribute('data-count')).toBe('0');

    await admin.getByTestId('ban-reason-input').fill('spam bot seen in logs');
    await admin.getByTestId('ban-submit').click();
    await admin.getByTestId('admin-message').filter({ hasText: 'Banned' }).waitFor();
    const row = admin.getByTestId('ban');
    await row.waitFor();
    expect(await row.getByTestId('ban-time-left').textContent()).toMatch(/59 min|1 h/);
    const banId = await row.getAttribute('data-ban-id');

    // Lifting needs a reason too.
    await admin.getByTestId(`unban-${banId}`).click();
    await admin.getByTestId('admin-error').filter({ hasText: 'reason' }).waitFor();
    await admin.getByTestId('ban-reason-input').fill('appeal accepted');
    await admin.getByTestId(`unban-${banId}`).click();
    await admin.getByTestId('admin-message').filter({ hasText: 'lifted' }).waitFor();
    expect(await admin.getByTestId('bans').getAttribute('data-count')).toBe('0');

    const actions = await admin
      .getByTestId('audit-entry')
      .evaluateAll((rows) => rows.map((row) => `${row.getAttribute('data-action')} ${row.textContent}`));
    expect(actions.some((entry) => entry.startsWith('ban ') && entry.includes('e2e-moderator'))).toBe(true);
    expect(actions.some((entry) => entry.startsWith('unban ') && entry.includes('appeal accepted'))).toBe(true);
  });

  it('edits the safety settings live, refusing invalid ones with a sentence', async () => {
    await admin.getByTestId('safety-reports-per-hour').fill('0');
    await admin.getByTestId('safety-save').click();
    await admin.getByTestId('admin-error').filter({ hasText: 'reportsPerHour' }).waitFor();

    await admin.getByTestId('safety-reports-per-hour').fill('7');
    await admin.getByTestId('safety-durations').fill('30min, 12h, 14d');
    await admin.getByTestId('safety-save').click();
    await admin.getByTestId('admin-message').filter({ hasText: 'Safety settings saved' }).waitFor();
    const saved = await (
      await fetch(`${server.url}/api/admin/safety`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json();
    expect(saved).toMatchObject({ reportsPerHour: 7, banDurationsMs: [1_800_000, 43_200_000, 14 * 86_400_000] });
    expect(await admin.getByTestId('safety-durations').inputValue()).toBe('30min, 12h, 14d');
  });
});
