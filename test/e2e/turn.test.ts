import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inboundVideo,
  launchChromium,
  openUser,
  pairUp,
  selectedLocalCandidates,
  waitForRemoteFrames,
} from '../helpers/browser.js';
import { Coturn } from '../helpers/coturn.js';
import { NetNamespace } from '../helpers/netns.js';
import { freePortRun } from '../helpers/ports.js';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';

const SECRET = 'e2e-turn-secret-0123456789abcdef';
const ADMIN_TOKEN = 'e2e-turn-admin-token-0123';

describe('relay-only deployment: media goes through coturn', () => {
  let ns: NetNamespace;
  let coturn: Coturn;
  let server: ServerProcess;
  let browser: Browser;
  let relayPorts: { min: number; max: number };

  beforeAll(async () => {
    // The SFU sits on a real (non-loopback) address: coturn refuses to relay to loopback.
    ns = NetNamespace.create(71);
    const turnPort = await freePortRun(2);
    const relay = await freePortRun(50);
    relayPorts = { min: relay, max: relay + 49 };
    coturn = await Coturn.start({
      secret: SECRET,
      sfuIp: ns.hostIp,
      listenIps: ['127.0.0.1'],
      relayIps: ['127.0.0.1'],
      port: turnPort,
      tlsPort: turnPort + 1,
      relayPorts,
    });
    server = await startServerProcess('e2e-turn-relay', {
      ADMIN_TOKEN,
      MEDIA_LISTEN_IP: ns.hostIp,
      ANNOUNCED_ADDRESS: ns.hostIp,
      MEDIA_PORT: String(await freePortRun(2)),
      TURN_SECRET: SECRET,
      TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp`,
      ICE_TRANSPORT_POLICY: 'relay',
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await coturn?.destroy();
    ns?.destroy();
  });

  it('video flows both ways and every selected candidate pair is a relay one', async () => {
    const alice = await openUser(browser, server.url);
    const bob = await openUser(browser, server.url);
    await pairUp(alice, bob, { frames: 30 });
    for (const page of [alice, bob]) {
      expect(await selectedLocalCandidates(page)).toEqual([
        { direction: 'send', candidateType: 'relay', relayProtocol: 'udp' },
        { direction: 'recv', candidateType: 'relay', relayProtocol: 'udp' },
      ]);
    }
    // The SFU's side agrees: every transport's media comes from a coturn relay port.
    const response = await fetch(`${server.url}/api/admin/media`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const sessions = (await response.json()) as Array<{
      transports: Array<{ remote: { ip: string; port: number } | null }>;
    }>;
    const remotes = sessions.flatMap((session) => session.transports.map((transport) => transport.remote));
    expect(remotes).toHaveLength(4);
    for (const remote of remotes) {
      expect(remote?.ip).toBe('127.0.0.1');
      expect(remote?.port).toBeGreaterThanOrEqual(relayPorts.min);
      expect(remote?.port).toBeLessThanOrEqual(relayPorts.max);
    }
  });
});

describe('strict network: behind NAT, UDP blocked, only TCP to the TURN/TLS port', () => {
  let router: NetNamespace;
  let coturn: Coturn;
  let server: ServerProcess;
  let hostBrowser: Browser;
  let strictBrowser: Browser;
  let certDir: string;
  let url: string;

  beforeAll(async () => {
    router = NetNamespace.create(72);
    const client = router.addNatClient();
    const [webPort, turnPort] = [await freePortRun(1, 20000), await freePortRun(2)];
    const turnTlsPort = turnPort + 1;
    // The office firewall: nothing leaves but TCP to the web server and to TURN over TLS.
    router.exec('iptables', ['-P', 'FORWARD', 'DROP']);
    router.exec('iptables', ['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
    for (const port of [webPort, turnTlsPort]) {
      router.exec('iptables', [
        '-A',
        'FORWARD',
        '-s',
        client.ip,
        '-d',
        router.hostIp,
        '-p',
        'tcp',
        '--dport',
        String(port),
        '-j',
        'ACCEPT',
      ]);
    }

    certDir = mkdtempSync(join(tmpdir(), 'meetopia-turn-cert-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=meetopia-test-turn',
        '-addext',
        `subjectAltName=IP:${router.hostIp}`,
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const relay = await freePortRun(50);
    coturn = await Coturn.start({
      secret: SECRET,
      sfuIp: router.hostIp,
      listenIps: [router.hostIp],
      relayIps: [router.hostIp],
      port: turnPort,
      tlsPort: turnTlsPort,
      tls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem') },
      relayPorts: { min: relay, max: relay + 49 },
    });
    server = await startServerProcess('e2e-turn-strict', {
      PORT: String(webPort),
      HOST: router.hostIp,
      MEDIA_LISTEN_IP: router.hostIp,
      ANNOUNCED_ADDRESS: router.hostIp,
      MEDIA_PORT: String(await freePortRun(2)),
      TURN_SECRET: SECRET,
      // As a deployment offers them: plain TURN (blocked here) and TURN over TLS.
      TURN_URLS: `turn:${router.hostIp}:${turnPort}?transport=udp,turns:${router.hostIp}:${turnTlsPort}?transport=tcp`,
    });
    url = `http://${router.hostIp}:${webPort}`;
    hostBrowser = await launchChromium({ secureOrigins: [url] });
    strictBrowser = await launchChromium({
      executablePath: client.chromiumPath(),
      secureOrigins: [url],
      // The test certificate is self-signed.
      extraArgs: ['--ignore-certificate-errors'],
    });
  });

  afterAll(async () => {
    await strictBrowser?.close();
    await hostBrowser?.close();
    await server?.stop();
    await coturn?.destroy();
    router?.destroy();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('still gets video over TURN/TLS; with TURN gone it falls back to text, and video returns with TURN', async () => {
    const strict = await openUser(strictBrowser, url);
    const open = await openUser(hostBrowser, url);
    await pairUp(strict, open);
    await waitForRemoteFrames(strict, { after: 30, timeoutMs: 30_000 });
    await waitForRemoteFrames(open, { after: 30, timeoutMs: 30_000 });
    expect(await selectedLocalCandidates(strict)).toEqual([
      { direction: 'send', candidateType: 'relay', relayProtocol: 'tls' },
      { direction: 'recv', candidateType: 'relay', relayProtocol: 'tls' },
    ]);

    await coturn.stop();
    const stoppedAt = Date.now();
    await strict.waitForFunction(
      () => document.querySelector('[data-testid="status"]')?.getAttribute('data-media') === 'text',
      undefined,
      { timeout: 15_000 },
    );
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    await open.getByTestId('peer-media').filter({ hasText: 'text mode' }).waitFor({ timeout: 5000 });
    // Still the same conversation, by text.
    await open.getByTestId('chat-input').fill('can you read this?');
    await open.getByTestId('chat-send').click();
    await strict.getByTestId('chat-log').locator('li[data-from="peer"]', { hasText: 'can you read this?' }).waitFor();

    // TURN is back: media recovers by itself (background ICE restarts), on the same pair.
    await coturn.restart();
    await strict.waitForFunction(
      () => document.querySelector('[data-testid="status"]')?.getAttribute('data-media') === 'video',
      undefined,
      { timeout: 30_000 },
    );
    const before = (await inboundVideo(open))?.framesDecoded ?? 0;
    await waitForRemoteFrames(open, { after: before + 10, timeoutMs: 10_000 });
    await open.getByTestId('peer-media').waitFor({ state: 'detached', timeout: 5000 });
  });
});
