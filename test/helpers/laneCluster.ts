import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openUser, waitForStatus } from './browser.js';
import { NginxServer } from './nginx.js';
import { RedisServer } from './redisServer.js';
import { getStatus, type ServerProcess, startServerProcess } from './serverProcess.js';

const example = join(import.meta.dirname, '../../deploy/nginx/meetopia-cluster.conf');

/**
 * Built instances sharing one real Redis behind Debian's nginx running the deploy/nginx
 * example. Every page of a test comes from 127.0.0.1, so the example's `hash $remote_addr` would
 * put them all on one instance: here nginx hashes on a cookie each browser context sets (its
 * "lane") instead. Everything else is the example as it is.
 */
export class LaneCluster {
  readonly redis: RedisServer;
  readonly nginx: NginxServer;
  readonly instances: ServerProcess[];
  readonly #env: Record<string, string>;

  private constructor(redis: RedisServer, nginx: NginxServer, instances: ServerProcess[], env: Record<string, string>) {
    this.redis = redis;
    this.nginx = nginx;
    this.instances = instances;
    this.#env = env;
  }

  static async start(name: string, count: number): Promise<LaneCluster> {
    const redis = await RedisServer.start();
    const env = { ...redis.env(`${name}-${process.pid}:`), TRUST_PROXY: 'true' };
    const instances: ServerProcess[] = [];
    for (let i = 0; i < count; i += 1) {
      instances.push(await startServerProcess(`${name}-${i}`, { ...env, INSTANCE_ID: `${name}-${i}` }));
    }
    const nginx = await NginxServer.start(
      example,
      instances.map((instance) => instance.port),
      (site) => site.replace('hash $remote_addr consistent;', 'hash $cookie_meetopia_lane consistent;'),
    );
    return new LaneCluster(redis, nginx, instances, env);
  }

  /** Starts instance `index` again (same INSTANCE_ID) on the port nginx knows it by. */
  async restart(index: number, name: string): Promise<ServerProcess> {
    const old = this.instances[index];
    if (!old) throw new Error(`no instance ${index}`);
    const again = await startServerProcess(`${name}-${index}-again`, {
      ...this.#env,
      INSTANCE_ID: `${name}-${index}`,
      PORT: String(old.port),
    });
    this.instances[index] = again;
    return again;
  }

  /** A user in a browser context of their own whose requests carry `lane`, with the app open and connected. */
  async open(browser: Browser, lane: string): Promise<Page> {
    const page = await openUser(browser, this.nginx.url, { cookies: [{ name: 'meetopia_lane', value: lane }] });
    await waitForStatus(page, 'connected');
    return page;
  }

  /** Opens users on new lanes until one lands on an instance none of `avoid` is on. */
  async openElsewhere(
    browser: Browser,
    prefix: string,
    avoid: ServerProcess[],
  ): Promise<{ page: Page; home: ServerProcess }> {
    for (let lane = 0; lane < 30; lane += 1) {
      const page = await this.open(browser, `${prefix}-${lane}`);
      const home = await this.holding(page, avoid).catch(() => null);
      if (home) return { page, home };
      await page.context().close();
    }
    throw new Error('every lane hashed to the same instance');
  }

  /**
   * The live instance (not in `exclude`) with an active session: with one user per instance,
   * the one that holds this page's session.
   */
  async holding(page: Page, exclude: ServerProcess[] = []): Promise<ServerProcess> {
    const deadline = Date.now() + 5000;
    for (;;) {
      for (const instance of this.instances) {
        if (exclude.includes(instance) || instance.child.exitCode !== null || instance.child.signalCode !== null)
          continue;
        if ((await getStatus(instance.url)).connections.active > 0) return instance;
      }
      if (Date.now() > deadline) throw new Error('no instance holds the page');
      await page.waitForTimeout(100);
    }
  }

  /** The instance that took a session over (logged it) at or after `since` (ms since the epoch). */
  async tookOver(since: number, timeoutMs = 20_000): Promise<ServerProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const instance of this.instances) {
        const line = instance.logs.findLast((entry) => entry.includes('"msg":"session taken over"'));
        if (line && Number(/"time":(\d+)/.exec(line)?.[1]) >= since) return instance;
      }
      if (Date.now() > deadline) throw new Error('no instance took the session over');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await this.nginx.stop();
    for (const instance of this.instances) await instance.stop('SIGKILL');
    await this.redis.destroy();
  }
}

/** The conversation the page is in, as the page knows it. */
export function pairIdOf(page: Page): Promise<string | null> {
  return page.evaluate(() => (window as unknown as { meetopia: { pairId: string | null } }).meetopia.pairId);
}
