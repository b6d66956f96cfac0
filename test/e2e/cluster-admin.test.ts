import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInAsAdmin } from '../helpers/browser.js';
import { RedisServer } from '../helpers/redisServer.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';

const ADMIN_TOKEN = 'e2e-cluster-admin-token-77';

/** The admin page of one instance shows every instance sharing Redis, who leads, and failures. */
describe('the admin page of a deployment sharing Redis', () => {
  let redis: RedisServer;
  let first: ServerProcess;
  let second: ServerProcess;
  let browser: Browser;
  let admin: Page;

  const row = (id: string) => admin.locator(`[data-testid="cluster-instance"][data-instance="${id}"]`);

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { ...redis.env(`cluster-admin-${process.pid}:`), ADMIN_TOKEN };
    // The first to start holds the matcher's lease.
    first = await startServerProcess('e2e-cluster-admin-first', { ...env, INSTANCE_ID: 'first', REGION: 'eu' });
    second = await startServerProcess('e2e-cluster-admin-second', { ...env, INSTANCE_ID: 'second', REGION: 'us' });
    browser = await launchChromium();
    admin = await (await browser.newContext()).newPage();
    await admin.goto(`${second.url}/admin`);
    await signInAsAdmin(admin, ADMIN_TOKEN, 'e2e');
  });

  afterAll(async () => {
    await browser?.close();
    await first?.stop('SIGKILL');
    await second?.stop();
    await redis?.destroy();
  });

  it('lists both instances with their region and address, marks the leader and the instance serving the page', async () => {
    await row('first').waitFor({ timeout: 10_000 });
    await row('second').waitFor({ timeout: 10_000 });
    expect(await row('first').getAttribute('data-leader')).toBe('true');
    expect(await row('second').getAttribute('data-leader')).toBe('false');
    expect(await row('first').innerText()).toContain('eu');
    // Which machine each one is: the address its users send media to.
    expect(await row('first').innerText()).toContain('127.0.0.1');
    expect(await row('second').innerText()).toMatch(/us[\s\S]*this page|this page[\s\S]*us/);
    expect(await admin.getByTestId('cluster-summary').innerText()).toBe(
      '2 instances share Redis; first runs the matching.',
    );
  });

  it('after the leader is killed (-9), the page shows the other instance leading and the dead one gone', async () => {
    await first.stop('SIGKILL');
    // Lease 3 s, heartbeat timeout 6 s, the page refreshes every 2 s.
    await admin
      .locator('[data-testid="cluster-instance"][data-instance="second"][data-leader="true"]')
      .waitFor({ timeout: 12_000 });
    await row('first').waitFor({ state: 'detached', timeout: 12_000 });
    expect(await admin.getByTestId('cluster-summary').innerText()).toBe(
      '1 instance shares Redis; second runs the matching.',
    );
  });

  it('says so when Redis stops answering, and recovers when it is back', async () => {
    await redis.stop();
    const summary = admin.getByTestId('cluster-summary');
    await admin.getByRole('alert').filter({ hasText: 'Redis does not answer' }).waitFor({ timeout: 15_000 });
    await redis.start();
    await summary.filter({ hasText: 'second runs the matching' }).waitFor({ timeout: 20_000 });
    expect(await admin.getByRole('alert').filter({ hasText: 'Redis does not answer' }).count()).toBe(0);
  });
});
