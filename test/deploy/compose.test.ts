import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inboundVideo,
  launchChromium,
  openUser,
  pairUp,
  waitForStatus,
  waitForVideoAfter,
} from '../helpers/browser.js';
import { pairIdOf } from '../helpers/laneCluster.js';
import { freePortRun } from '../helpers/ports.js';
import { getStatus } from '../helpers/serverProcess.js';
import { Daemon, poll, presentedSerial, repoRoot, trustingChromium } from './support.js';

const execFileAsync = promisify(execFile);
const cacheDir = process.env.MEETOPIA_CACHE_DIR ?? join(homedir(), '.cache/meetopia');
const podmanDir = join(cacheDir, 'podman');
const socketDir = '/run/meetopia-podman';
const socket = join(socketDir, `api-${process.pid}.sock`);
const project = `meetopia-deploy-${process.pid}`;
const IMAGE = 'localhost/meetopia:latest';

/** podman with the settings this machine kind needs (written by containers/podman-env.sh). */
const podmanEnv = {
  PATH: process.env.PATH ?? '',
  HOME: homedir(),
  CONTAINERS_CONF: join(podmanDir, 'containers.conf'),
  CONTAINERS_STORAGE_CONF: join(podmanDir, 'storage.conf'),
};

async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
) {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd: repoRoot,
      env: { ...podmanEnv, ...options.env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 120_000,
    });
    return { stdout, stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    );
  }
}

const podman = (args: string[], timeoutMs?: number) => run('podman', args, { timeoutMs });

/**
 * The shipped docker-compose.yml, run by Debian's docker-compose against podman's Docker API,
 * from images built here: the app image from deploy/Dockerfile, and local stand-ins for the
 * official base images (test/deploy/containers/build-standins.sh). DOMAIN=localhost, so Caddy
 * certifies it with its own local authority, which the test browsers are made to trust.
 */
describe('docker-compose.yml, run', () => {
  let dir: string;
  let envFile: string;
  let service: Daemon;
  let browser: Browser | undefined;
  let up = false;
  let caddyRoot: string;
  const ports = { app: 0, media: 0, http: 0, https: 0, turn: 0, relay: 0, admin: 0, prometheus: 0 };
  /** The cluster profile's other two instances (HTTP, media) and its Redis. */
  const more = { app: [0, 0], media: [0, 0], redis: 0 };

  const compose = (args: string[], timeoutMs = 300_000) =>
    run('docker-compose', ['-p', project, '-f', join(repoRoot, 'docker-compose.yml'), '--env-file', envFile, ...args], {
      env: { DOCKER_HOST: `unix://${socket}`, COMPOSE_HTTP_TIMEOUT: '300' },
      timeoutMs,
    });

  /** Caddy's local root certificate (a new one for every fresh caddy-data volume), PEM. */
  async function caddyLocalRoot(): Promise<string> {
    const caddy = await container('caddy');
    return poll(
      "Caddy's local root certificate",
      () =>
        podman(['exec', caddy, 'cat', '/data/caddy/pki/authorities/local/root.crt']).then(
          ({ stdout }) => stdout,
          () => undefined,
        ),
      30_000,
    );
  }

  /** The container of a compose service, by compose's labels. */
  async function container(name: string): Promise<string> {
    const { stdout } = await podman([
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${name}`,
      '--format',
      '{{.ID}}',
    ]);
    const id = stdout.trim().split('\n')[0];
    if (!id) throw new Error(`no running container for service ${name}`);
    return id;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meetopia-deploy-compose-'));
    envFile = join(dir, '.env');

    await run(join(repoRoot, 'test/deploy/containers/build-standins.sh'), [], { timeoutMs: 900_000 });

    // The worker: the one setup.sh put in the cache (built offline here), offered to the image
    // build through a copy, so that the build never touches the real cache.
    const version = JSON.parse(readFileSync(join(repoRoot, 'node_modules/mediasoup/package.json'), 'utf8')).version;
    const workerCache = join(dir, 'worker-cache');
    const cached = join(cacheDir, 'mediasoup-worker', version);
    if (existsSync(join(cached, 'mediasoup-worker'))) {
      mkdirSync(join(workerCache, 'mediasoup-worker', version), { recursive: true });
      for (const file of ['mediasoup-worker', 'ORIGIN']) {
        if (existsSync(join(cached, file)))
          copyFileSync(join(cached, file), join(workerCache, 'mediasoup-worker', version, file));
      }
    } else {
      mkdirSync(workerCache, { recursive: true });
    }
    // The SQLite binding for the image's Node, built once and kept like the worker.
    const sqliteCache = join(cacheDir, 'better-sqlite3');
    if (existsSync(sqliteCache)) cpSync(sqliteCache, join(workerCache, 'better-sqlite3'), { recursive: true });
    await podman(
      [
        'build',
        '--pull=never',
        '--network',
        'host',
        '--format',
        'docker',
        '-v',
        `${workerCache}:/opt/meetopia-cache`,
        '-f',
        'deploy/Dockerfile',
        '-t',
        IMAGE,
        '.',
      ],
      900_000,
    );
    if (existsSync(join(workerCache, 'better-sqlite3'))) {
      cpSync(join(workerCache, 'better-sqlite3'), sqliteCache, { recursive: true });
    }

    mkdirSync(socketDir, { recursive: true });
    service = new Daemon(
      'podman system service',
      'podman',
      ['system', 'service', '--time=0', `unix://${socket}`],
      podmanEnv,
    );
    await poll('podman API socket', () => (existsSync(socket) ? true : undefined), 20_000);

    ports.app = await freePortRun(1, 22000);
    ports.media = await freePortRun(1);
    ports.http = await freePortRun(1, 23000);
    ports.https = await freePortRun(1, 24000);
    ports.turn = await freePortRun(2);
    ports.relay = await freePortRun(20);
    ports.admin = await freePortRun(1, 25000);
    ports.prometheus = await freePortRun(1, 26000);
    more.app = [await freePortRun(1, 27000), await freePortRun(1, 28000)];
    more.media = [await freePortRun(1), await freePortRun(1)];
    more.redis = await freePortRun(1, 29000);
    writeFileSync(
      envFile,
      [
        `PORT=${ports.app}`,
        `MEDIA_PORT=${ports.media}`,
        'WORKERS=1',
        `HTTP_PORT=${ports.http}`,
        `HTTPS_PORT=${ports.https}`,
        `TURN_PORT=${ports.turn}`,
        `TURN_TLS_PORT=${ports.turn + 1}`,
        `TURN_MIN_PORT=${ports.relay}`,
        `TURN_MAX_PORT=${ports.relay + 19}`,
        `CADDY_ADMIN=127.0.0.1:${ports.admin}`,
        `PROMETHEUS_PORT=${ports.prometheus}`,
        `TURN_TLS_POLL_SECONDS=2`,
        // Used by the cluster profile only (the last test).
        `PORT_2=${more.app[0]}`,
        `PORT_3=${more.app[1]}`,
        `MEDIA_PORT_2=${more.media[0]}`,
        `MEDIA_PORT_3=${more.media[1]}`,
        `REDIS_PORT=${more.redis}`,
        '',
      ].join('\n'),
    );
    // What a self-hoster runs; the ports above are kept and used for the TURN URLs.
    await run(join(repoRoot, 'scripts/configure.sh'), [
      '--domain',
      'localhost',
      '--email',
      'ops@example.com',
      '--public-ip',
      '127.0.0.1',
      '--output',
      envFile,
    ]);

    // Grafana has no Debian package to stand in for its image: every other service is started.
    await compose(['--profile', 'monitoring', 'up', '-d', '--no-build', 'caddy', 'coturn', 'meetopia', 'prometheus']);
    up = true;

    // The root of Caddy's local authority, which certifies localhost: what the browsers trust.
    caddyRoot = join(dir, 'caddy-root.pem');
    writeFileSync(caddyRoot, await caddyLocalRoot());
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (up) await compose(['--profile', 'monitoring', '--profile', 'cluster', 'down', '-v']).catch(() => {});
    await service?.stop();
    rmSync(socket, { force: true });
    // Builds of older sources would pile up in the cache; recent layers stay for the next run.
    await podman(['image', 'prune', '-f', '--filter', 'until=24h']).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the app image runs as a non-root user and its HEALTHCHECK passes', async () => {
    const app = await container('meetopia');
    const { stdout: user } = await podman(['exec', app, 'id', '-u']);
    expect(Number(user.trim())).toBeGreaterThan(0);
    const { stdout: configured } = await podman(['image', 'inspect', IMAGE, '--format', '{{.Config.User}}']);
    expect(configured.trim()).toBe('node');
    await poll(
      'a passing HEALTHCHECK',
      () =>
        podman(['healthcheck', 'run', app]).then(
          () => true,
          () => undefined,
        ),
      60_000,
    );
  });

  it('every service starts: Caddy, the app, coturn (as nobody, with TLS) and Prometheus (scraping with the token)', async () => {
    const { stdout } = await podman([
      'ps',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{index .Labels "com.docker.compose.service"}} {{.Status}}',
    ]);
    const states = stdout.trim().split('\n').sort();
    expect(states.map((line) => line.split(' ')[0])).toEqual(['caddy', 'coturn', 'meetopia', 'prometheus']);
    for (const line of states) expect(line).toMatch(/^\S+ Up /);

    // coturn serves the certificate Caddy got for the domain (its local authority here). The
    // entry point starts it only once that certificate is in Caddy's storage.
    const turnSerial = await poll(
      'TURN over TLS',
      () => presentedSerial('127.0.0.1', ports.turn + 1, 'localhost', caddyRoot),
      60_000,
    );
    expect(turnSerial).toBe(await presentedSerial('127.0.0.1', ports.https, 'localhost', caddyRoot));

    // Serving, coturn has dropped root (it does so right after opening its ports): every
    // turnserver process runs as nobody; only the entry point, which copies the certificate, is root.
    const coturn = await container('coturn');
    const processes = await poll(
      'turnserver to run as nobody',
      async () => {
        const { stdout } = await podman(['top', coturn, 'user', 'comm']);
        return /^nobody\s+turnserver$/m.test(stdout) ? stdout : undefined;
      },
      10_000,
    );
    expect(processes).not.toMatch(/^root\s+turnserver$/m);

    const scraped = await poll(
      'Prometheus to scrape the app',
      async () => {
        const response = await fetch(
          `http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent('up{job="meetopia"}')}`,
        ).catch(() => undefined);
        if (!response?.ok) return undefined;
        const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
        return body.data.result[0]?.value[1];
      },
      60_000,
    );
    expect(scraped).toBe('1');
  });

  it('two users call each other over https://localhost through the composed stack, video both ways', async () => {
    const root = readFileSync(caddyRoot, 'utf8');
    browser = await launchChromium({ executablePath: trustingChromium(join(dir, 'chromium'), [root]) });
    const url = `https://localhost:${ports.https}/`;
    const alice = await openUser(browser, url);
    const bob = await openUser(browser, url);
    expect(await alice.evaluate(() => window.isSecureContext)).toBe(true);
    await pairUp(alice, bob, { frames: 30 });
  });

  it('docker-compose down leaves nothing running', async () => {
    await compose(['--profile', 'monitoring', 'down', '-v']);
    up = false;
    const { stdout } = await podman([
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.ID}}',
    ]);
    expect(stdout.trim()).toBe('');
    const { stdout: volumes } = await podman([
      'volume',
      'ls',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.Name}}',
    ]);
    expect(volumes.trim()).toBe('');
    const healthz = await fetch(`http://127.0.0.1:${ports.app}/healthz`).catch(() => null);
    expect(healthz).toBeNull();
  });
  it('the cluster profile: Redis and three instances behind Caddy; users on different instances call each other, and one whose instance is killed comes back to the same conversation', async () => {
    // What a self-hoster runs to try it: configure.sh --cluster (it keeps everything else), then
    // a plain `up`, which reads the profile from .env.
    await run(join(repoRoot, 'scripts/configure.sh'), ['--cluster', '--output', envFile]);
    await compose(['up', '-d', '--no-build']);
    up = true;
    const appPorts = [ports.app, ...more.app];
    // The instances start with Redis (the first, which does not wait for it, restarts until it answers).
    await poll(
      'three instances in one cluster',
      async () => {
        const views = await Promise.all(
          appPorts.map((port) => getStatus(`http://127.0.0.1:${port}`).catch(() => undefined)),
        );
        return views.every((view) => view?.cluster.store === 'redis' && view.cluster.instances.length === 3)
          ? views
          : undefined;
      },
      120_000,
    );

    await browser?.close();
    const root = await caddyLocalRoot();
    browser = await launchChromium({ executablePath: trustingChromium(join(dir, 'chromium-cluster'), [root]) });
    const url = `https://localhost:${ports.https}/`;
    /** The instance (index into appPorts) holding the one session not on any of `known`. */
    const placed = new Map<Page, number>();
    async function open(): Promise<{ page: Page; at: number }> {
      const page = await openUser(browser as Browser, url);
      await waitForStatus(page, 'connected');
      const at = await poll(
        'the instance holding the new page',
        async () => {
          for (const [index, port] of appPorts.entries()) {
            const held = (await getStatus(`http://127.0.0.1:${port}`)).connections.active;
            const ours = [...placed.values()].filter((where) => where === index).length;
            if (held > ours) return index;
          }
          return undefined;
        },
        10_000,
      );
      placed.set(page, at);
      return { page, at };
    }
    // Caddy's cookie spreads pages over the instances at random: new visitors until one lands elsewhere.
    const alice = await open();
    let bob = await open();
    for (let tries = 0; bob.at === alice.at && tries < 10; tries += 1) {
      placed.delete(bob.page);
      await bob.page.context().close();
      await poll(
        'the closed page to leave its instance',
        async () =>
          (await getStatus(`http://127.0.0.1:${appPorts[bob.at]}`)).connections.active === 1 ? true : undefined,
        10_000,
      );
      bob = await open();
    }
    expect(bob.at).not.toBe(alice.at);
    await pairUp(alice.page, bob.page, { frames: 10 });
    const pairId = await pairIdOf(alice.page);

    // kill -9 of Alice's instance: her page gets back in through Caddy, resumes, and both see video again.
    const [aliceSaw, bobSaw] = [await inboundVideo(alice.page), await inboundVideo(bob.page)];
    const services = ['meetopia', 'meetopia-2', 'meetopia-3'];
    await podman(['kill', '--signal', 'KILL', await container(services[alice.at] ?? '')]);
    await waitForVideoAfter(alice.page, aliceSaw, { timeoutMs: 30_000 });
    await waitForVideoAfter(bob.page, bobSaw, { timeoutMs: 30_000 });
    expect(await pairIdOf(alice.page)).toBe(pairId);
    expect(await pairIdOf(bob.page)).toBe(pairId);
  });
});
