import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnPassword } from '../../server/src/turn/TurnCredentials.js';
import { Coturn, startEchoPeer, uclient } from '../helpers/coturn.js';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { NetNamespace } from '../helpers/netns.js';
import { freePortRun } from '../helpers/ports.js';
import { TestClient } from '../helpers/wsClient.js';

const SECRET = 'integration-turn-secret-0123456789';
const repoRoot = new URL('../..', import.meta.url).pathname;
const TTL_SECONDS = 10;

describe('bundled coturn with short-lived credentials (real turnserver)', () => {
  let ns: NetNamespace;
  let coturn: Coturn;
  let server: TestServer;
  let peer: { stop(): void };
  let turnPort: number;
  let peerPort: number;
  /** The SFU's address: a real, non-loopback address of this host (the host end of a test veth). */
  let sfuIp: string;

  /** A new session on the Meetopia server, and the TURN credentials it was given. */
  async function session(): Promise<{ client: TestClient; username: string; password: string }> {
    const client = await TestClient.join(server.wsUrl);
    const [ice] = client.hello?.iceServers ?? [];
    if (!ice?.username || !ice.credential) throw new Error('no TURN credentials in hello');
    return { client, username: ice.username, password: ice.credential };
  }

  beforeAll(async () => {
    ns = NetNamespace.create(61);
    sfuIp = ns.hostIp;
    [turnPort, peerPort] = [await freePortRun(2), await freePortRun(1)];
    const relay = await freePortRun(50);
    coturn = await Coturn.start({
      secret: SECRET,
      sfuIp,
      listenIps: ['127.0.0.1', '::1'],
      relayIps: ['127.0.0.1', '::1'],
      port: turnPort,
      tlsPort: turnPort + 1,
      relayPorts: { min: relay, max: relay + 49 },
    });
    // Echo peers stand where an attacker would aim (loopback) and where media should go (the SFU):
    // a refused relay is refused by policy, not because nothing listens there.
    peer = startEchoPeer(['127.0.0.1', '::1', sfuIp], peerPort);
    server = await startTestServer({
      TURN_SECRET: SECRET,
      TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp,turn:127.0.0.1:${turnPort}?transport=tcp`,
      TURN_TTL_SECONDS: String(TTL_SECONDS),
    });
  });

  afterAll(async () => {
    await server?.close();
    peer?.stop();
    await coturn?.destroy();
    ns?.destroy();
  });

  it('hands each session its own short-lived credentials, never the secret', async () => {
    const { client, username, password } = await session();
    const [expiry, sessionId] = username.split(':');
    expect(sessionId).toBe(client.hello?.sessionId);
    const secondsLeft = Number(expiry) - Date.now() / 1000;
    expect(secondsLeft).toBeGreaterThan(TTL_SECONDS - 5);
    expect(secondsLeft).toBeLessThanOrEqual(TTL_SECONDS + 1);
    expect(JSON.stringify(client.hello)).not.toContain(SECRET);
    expect(password).toBe(turnPassword(SECRET, username));
    await client.close();
  });

  it('minted credentials allocate a relay that reaches the SFU, over UDP and TCP', async () => {
    for (const tcp of [false, true]) {
      const { client, username, password } = await session();
      const result = await uclient({
        server: '127.0.0.1',
        port: turnPort,
        username,
        password,
        peer: sfuIp,
        peerPort,
        tcp,
      });
      expect(result.code, result.output).toBe(0);
      expect(result.received).toBe(3);
      await client.close();
    }
  });

  it('wrong, expired, foreign-secret or missing credentials are refused', async () => {
    const { client, username, password } = await session();
    const past = `${Math.floor(Date.now() / 1000) - 60}:${client.hello?.sessionId}`;
    const attempts = [
      { username, password: `${password.slice(0, -4)}AAA=` },
      { username: past, password: turnPassword(SECRET, past) },
      { username, password: turnPassword('some-other-secret-0123456789', username) },
      {},
    ];
    for (const credentials of attempts) {
      const result = await uclient({ server: '127.0.0.1', port: turnPort, ...credentials, peer: sfuIp, peerPort });
      expect(result.code, JSON.stringify(credentials)).not.toBe(0);
      expect(result.received).toBe(0);
      expect(result.output).toContain('Cannot complete Allocation');
    }
    expect(coturn.log).toMatch(/401|Unauthorized|Cannot find credentials|wrong|expired/i);
    await client.close();
  });

  it('refuses to relay to loopback, private, link-local, unspecified and IPv4-mapped addresses', async () => {
    const forbidden = [
      { peer: '127.0.0.1' },
      { peer: '10.0.0.1' },
      { peer: '192.168.1.1' },
      { peer: '172.16.0.1' },
      { peer: '100.64.0.1' },
      { peer: '169.254.169.254' },
      { peer: '0.0.0.0' },
      { peer: '224.0.0.1' },
      { peer: '::1', ipv6Relay: true },
      { peer: '::ffff:127.0.0.1', ipv6Relay: true },
      { peer: '::ffff:169.254.169.254', ipv6Relay: true },
      { peer: 'fd00::1', ipv6Relay: true },
      { peer: 'fe80::1', ipv6Relay: true },
    ];
    for (const target of forbidden) {
      // A fresh session each time, as a real attacker would have.
      const { client, username, password } = await session();
      const result = await uclient({
        server: target.ipv6Relay ? '::1' : '127.0.0.1',
        port: turnPort,
        username,
        password,
        peerPort,
        ...target,
      });
      expect(result.error, `${target.peer}: ${result.output.slice(-400)}`).toBe('403 (Forbidden IP)');
      expect(result.received).toBe(0);
      await client.close();
    }
    // The same client and credentials scheme still reaches the SFU.
    const { client, username, password } = await session();
    expect(
      (await uclient({ server: '127.0.0.1', port: turnPort, username, password, peer: sfuIp, peerPort })).code,
    ).toBe(0);
    await client.close();
  });

  it("the admin's check script passes against this server, and fails with a wrong secret", async () => {
    const check = (secret: string) =>
      spawnSync(join(repoRoot, 'scripts/check-turn.sh'), ['127.0.0.1', String(turnPort)], {
        env: { PATH: process.env.PATH ?? '', TURN_SECRET: secret, PUBLIC_IP: sfuIp },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const good = check(SECRET);
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect(good.stdout.trim().split('\n')).toEqual([
      `ok    minted credentials allocate a relay on 127.0.0.1:${turnPort}`,
      `ok    the relay may reach the SFU at ${sfuIp}`,
      'ok    relaying to 127.0.0.1 is refused',
      'ok    relaying to 169.254.169.254 is refused',
    ]);
    const bad = check('not-the-turn-secret-0123456789');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('FAIL  allocation with minted credentials was refused');
  });

  it('sends fresh credentials before the old ones expire, and they work', async () => {
    const { client, username } = await session();
    const refreshed = await client.next('iceServers', TTL_SECONDS * 1000);
    const [ice] = refreshed.iceServers;
    expect(ice?.username).not.toBe(username);
    expect(Number(ice?.username?.split(':')[0])).toBeGreaterThan(Number(username.split(':')[0]));
    const result = await uclient({
      server: '127.0.0.1',
      port: turnPort,
      username: ice?.username ?? '',
      password: ice?.credential ?? '',
      peer: sfuIp,
      peerPort,
    });
    expect(result.code, result.output).toBe(0);
    await client.close();
  });
});
