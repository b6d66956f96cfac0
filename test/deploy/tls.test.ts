import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openUser, pairUp, selectedLocalCandidates } from '../helpers/browser.js';
import { NetNamespace } from '../helpers/netns.js';
import { freePortRun } from '../helpers/ports.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import {
  addressHash,
  caddyCertificate,
  childPids,
  Daemon,
  fileSerial,
  openedConnectionHashes,
  Pebble,
  poll,
  presentedSerial,
  repoRoot,
  startCaddy,
  trustingChromium,
} from './support.js';

const DOMAIN = 'meetopia.test';
const IDENTITY_SECRET = 'deploy-tls-identity-secret-0123';
const TURN_SECRET = 'deploy-tls-turn-secret-0123456789';
// Short-lived certificates, so that Caddy renews one by itself (at a third of its lifetime left)
// while the test watches: a real renewal, not a restart.
const CERT_LIFETIME_S = 60;

/**
 * The production path on one machine, with Pebble in place of Let's Encrypt: the project's own
 * Caddyfile obtains the certificate, proxies the page and WebSocket to the app (on loopback,
 * TRUST_PROXY=true), and turn/entrypoint.sh gives the same certificate to Debian's coturn.
 * One user's Chromium runs inside a network namespace, so its address (10.231.91.2) differs
 * from the proxy's; both browsers trust Pebble's root through their NSS database only.
 */
describe('automatic HTTPS and TURN over TLS with the certificate Caddy obtains', () => {
  let dir: string;
  let ns: NetNamespace;
  let pebble: Pebble;
  let pebbleRoot: string;
  let server: ServerProcess;
  let caddy: Daemon;
  let coturn: Daemon;
  let browsers: Browser[] = [];
  let inside: Page;
  let outside: Page;
  const ports = { http: 0, https: 0, turn: 0, turnTls: 0 };
  let issuerDir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meetopia-deploy-tls-'));
    // coturn runs as nobody after start-up and must reach its private certificate folder.
    chmodSync(dir, 0o755);
    ns = NetNamespace.create(91);
    pebble = await Pebble.start(join(dir, 'pebble'), CERT_LIFETIME_S);
    pebbleRoot = await pebble.root();
    writeFileSync(join(dir, 'pebble-root.pem'), pebbleRoot);
    const port = new URL(pebble.directory).port;
    issuerDir = `127.0.0.1-${port}-dir`;

    [ports.http, ports.https] = [await freePortRun(1, 20000), await freePortRun(1, 21000)];
    ports.turn = await freePortRun(2);
    ports.turnTls = ports.turn + 1;
    const relay = await freePortRun(50);

    server = await startServerProcess('deploy-tls', {
      HOST: '127.0.0.1',
      TRUST_PROXY: 'true',
      IDENTITY_SECRET,
      MEDIA_LISTEN_IP: ns.hostIp,
      ANNOUNCED_ADDRESS: ns.hostIp,
      MEDIA_PORT: String(await freePortRun(2)),
      TURN_SECRET,
      TURN_URLS: `turns:${DOMAIN}:${ports.turnTls}?transport=tcp`,
      ICE_TRANSPORT_POLICY: 'relay',
    });

    caddy = await startCaddy({
      domain: DOMAIN,
      dataDir: join(dir, 'caddy'),
      appPort: server.port,
      httpPort: ports.http,
      httpsPort: ports.https,
      extraOptions: [`acme_ca ${pebble.directory}`, `acme_ca_root ${pebble.tlsCert}`, 'renew_interval 1s'].join('\n'),
    });
    await poll(
      'the certificate from Pebble',
      () => (existsSync(caddyCertificate(join(dir, 'caddy'), issuerDir, DOMAIN)) ? true : undefined),
      20_000,
    );

    // The container's entry point, run as root on the host with Debian's coturn.
    coturn = new Daemon(
      'coturn',
      join(repoRoot, 'turn/entrypoint.sh'),
      [`--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`],
      {
        PATH: process.env.PATH ?? '',
        TURN_SECRET,
        TURN_SFU_IP: ns.hostIp,
        TURN_LISTEN_IP: ns.hostIp,
        TURN_RELAY_IP: ns.hostIp,
        TURN_PORT: String(ports.turn),
        TURN_TLS_PORT: String(ports.turnTls),
        TURN_MIN_PORT: String(relay),
        TURN_MAX_PORT: String(relay + 49),
        TURN_TLS_DOMAIN: DOMAIN,
        TURN_TLS_STORE: join(dir, 'caddy/data/caddy/certificates'),
        TURN_TLS_DIR: join(dir, 'turn-tls'),
        TURN_TLS_POLL_SECONDS: '1',
        TURN_CONFIG_OUT: join(dir, 'turnserver.conf'),
      },
    );
    await coturn.waitForOutput('Total General servers');

    const resolve = [`--host-resolver-rules=MAP ${DOMAIN} ${ns.hostIp}`];
    const insideBrowser = await launchChromium({
      executablePath: trustingChromium(join(dir, 'chromium-inside'), [pebbleRoot], ns.name),
      extraArgs: resolve,
    });
    browsers.push(insideBrowser);
    const outsideBrowser = await launchChromium({
      executablePath: trustingChromium(join(dir, 'chromium-outside'), [pebbleRoot]),
      extraArgs: resolve,
    });
    browsers.push(outsideBrowser);
    const url = `https://${DOMAIN}:${ports.https}/`;
    inside = await openUser(insideBrowser, url);
    outside = await openUser(outsideBrowser, url);
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => {});
    browsers = [];
    await coturn?.stop();
    await caddy?.stop();
    await server?.stop();
    await pebble?.stop();
    ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page over HTTPS with a certificate from the ACME server, and redirects http:// to https://', async () => {
    expect(await inside.evaluate(() => window.isSecureContext)).toBe(true);
    expect(inside.url()).toBe(`https://${DOMAIN}:${ports.https}/`);
    // The certificate Caddy serves for the page is the one it stored (issued by Pebble).
    const served = await presentedSerial(ns.hostIp, ports.https, DOMAIN, join(dir, 'pebble-root.pem'));
    expect(served).toMatch(/^serial=/);

    const redirect = await new Promise<{ status: number; location: string }>((resolve, reject) => {
      const req = request(
        { host: ns.hostIp, port: ports.http, path: '/some/page?x=1', headers: { host: DOMAIN } },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: String(res.headers.location) });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(redirect.status).toBe(308);
    expect(redirect.location).toBe(`https://${DOMAIN}/some/page?x=1`);
  });

  it('makes a relay-only call over turns: with video both ways, and logs the client address, not the proxy', async () => {
    await pairUp(inside, outside, { frames: 30 });
    for (const page of [inside, outside]) {
      expect(await selectedLocalCandidates(page)).toEqual([
        { direction: 'send', candidateType: 'relay', relayProtocol: 'tls' },
        { direction: 'recv', candidateType: 'relay', relayProtocol: 'tls' },
      ]);
    }
    const hashes = openedConnectionHashes(server.logs);
    // The user in the namespace reaches Caddy from 10.231.91.2; Caddy reaches the app from 127.0.0.1.
    expect(hashes).toContain(addressHash(IDENTITY_SECRET, ns.nsIp));
    expect(hashes).not.toContain(addressHash(IDENTITY_SECRET, '127.0.0.1'));
  });

  it('coturn serves the renewed certificate to new TURN/TLS connections without restarting', async () => {
    const caFile = join(dir, 'pebble-root.pem');
    const certFile = caddyCertificate(join(dir, 'caddy'), issuerDir, DOMAIN);
    const [turnserver] = childPids(coturn.pid, 'turnserver');
    expect(turnserver).toBeGreaterThan(0);
    const before = await poll(
      'a TURN/TLS handshake',
      () => presentedSerial(ns.hostIp, ports.turnTls, DOMAIN, caFile),
      10_000,
    );

    // Caddy renews by itself within the certificate's lifetime; coturn must follow.
    const after = await poll(
      'a new certificate on the TURN/TLS port',
      async () => {
        const serial = await presentedSerial(ns.hostIp, ports.turnTls, DOMAIN, caFile);
        return serial && serial !== before ? serial : undefined;
      },
      CERT_LIFETIME_S * 1000 + 15_000,
    );
    expect(caddy.output).toContain('certificate renewed successfully');
    expect(after).toBe(fileSerial(certFile));
    expect(childPids(coturn.pid, 'turnserver')).toEqual([turnserver]);
    expect(coturn.output).toContain('Reloading TLS certificates and keys');
  });
});
