import { bansResponseSchema, safetySettingsSchema, simulcastConfigSchema } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/adminApi.js';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { RedisServer } from '../helpers/redisServer.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { redisContents } from '../helpers/storeVariants.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { TestClient } from '../helpers/wsClient.js';

const ADMIN_TOKEN = 'cluster-test-admin-token-1234';

/**
 * Several instances sharing one real Redis: one queue with one matcher at a time, one set of
 * safety data, a cluster view in every /status. (Pairs form among users of one instance until
 * media can be piped between instances.)
 */
describe('instances sharing Redis', () => {
  let redis: RedisServer;
  let first: ServerProcess;
  let second: TestServer;
  const clients: TestClient[] = [];
  let prefix: string;

  const env = () => ({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, ADMIN_TOKEN, TRUST_PROXY: 'true' });

  async function user(url: string, address: string): Promise<TestClient> {
    const client = await TestClient.join(`${url.replace('http', 'ws')}/ws`, undefined, {
      headers: { 'x-forwarded-for': address },
    });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    prefix = `cluster-${process.pid}:`;
    // The child process starts first and so holds the matcher's lease.
    first = await startServerProcess('cluster-first', { ...env(), INSTANCE_ID: 'first', REGION: 'eu' });
    second = await startTestServer({ ...env(), INSTANCE_ID: 'second', REGION: 'us' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await first?.stop('SIGKILL');
    await second?.close();
    await redis?.destroy();
  });

  it('each /status shows both instances, their load and the one leader', async () => {
    const somebody = await user(second.httpUrl, '192.0.2.10');
    const { value: status } = await waitFor(
      () => getStatus(first.url),
      (candidate) =>
        ['first', 'second'].every((id) => candidate.cluster.instances.some((instance) => instance.id === id)) &&
        candidate.cluster.instances.some((instance) => instance.sessions > 0),
      8000,
      'both instances, one with a session, in the cluster view',
    );
    expect(status.cluster).toMatchObject({ store: 'redis', self: 'first', connected: true, leader: 'first' });
    expect(status.cluster.instances.find((i) => i.id === 'second')).toMatchObject({
      region: 'us',
      sessions: 1,
      mediaWorkers: expect.any(Number),
    });
    for (const instance of status.cluster.instances) expect(instance.mediaWorkers).toBeGreaterThan(0);
    expect((await getStatus(second.httpUrl)).cluster).toMatchObject({ self: 'second', leader: 'first' });
    await somebody.close();
  });

  it('users of the instance that does not lead are matched through the shared queue, and chat', async () => {
    const a = await user(second.httpUrl, '192.0.2.11');
    const b = await user(second.httpUrl, '192.0.2.12');
    const started = performance.now();
    await a.request('start', {});
    await b.request('start', {});
    const [ma] = await Promise.all([a.next('matched'), b.next('matched')]);
    const elapsed = performance.now() - started;
    await a.request('chat', { pairId: ma.pairId, text: 'hello across the queue', clientMessageId: 'c1' });
    expect((await b.next('chat')).message.text).toBe('hello across the queue');
    // Through Redis and another process, yet well under a second on loopback.
    expect(elapsed).toBeLessThan(1000);
  });

  it('a ban made through one instance turns the user away at the other', async () => {
    const device = 'cluster-banned-device-0001';
    const target = await TestClient.join(`${second.wsUrl}`, undefined, {
      headers: { 'x-forwarded-for': '192.0.2.13' },
      deviceId: device,
    });
    clients.push(target);
    const reporter = await user(second.httpUrl, '192.0.2.14');
    await target.request('start', {});
    await reporter.request('start', {});
    await Promise.all([target.next('matched'), reporter.next('matched')]);
    await reporter.request('report', { reason: 'spam' });
    // The admin works on the first instance: the report is there, and the ban it makes…
    const reports = await admin(first.url, 'GET', '/reports');
    const group = (reports as { groups: Array<{ target: unknown }> }).groups[0];
    expect(group).toBeTruthy();
    await admin(first.url, 'POST', '/bans', { target: group?.target, durationMs: 60_000, reason: 'spam links' });
    // …reaches the user on the second instance the next time they come.
    const back = await TestClient.join(`${second.wsUrl}`, undefined, {
      headers: { 'x-forwarded-for': '192.0.2.13' },
      deviceId: device,
    });
    clients.push(back);
    expect(back.hello?.ban?.reason).toBe('spam links');
    const { bans } = bansResponseSchema.parse(await admin(second.httpUrl, 'GET', '/bans'));
    expect(bans.some((ban) => ban.reason === 'spam links')).toBe(true);
  });

  it("an admin's change of the simulcast table or the safety settings reaches every instance's users", async () => {
    const watcher = await user(second.httpUrl, '192.0.2.17');
    const table = simulcastConfigSchema.parse(await admin(first.url, 'GET', '/simulcast'));
    const [low, mid, high] = table.layers;
    const changed = { ...table, layers: [low, mid, { ...high, maxBitrate: 900_000 }] };
    await admin(first.url, 'PUT', '/simulcast', changed);
    const pushed = await watcher.next('simulcast', 3000);
    expect(pushed.simulcast.layers[2].maxBitrate).toBe(900_000);
    expect(await admin(second.httpUrl, 'GET', '/simulcast')).toEqual(changed);

    const safety = safetySettingsSchema.parse(await admin(second.httpUrl, 'GET', '/safety'));
    await admin(first.url, 'PUT', '/safety', { ...safety, reportThreshold: safety.reportThreshold + 2 });
    await waitFor(
      async () => safetySettingsSchema.parse(await admin(second.httpUrl, 'GET', '/safety')),
      (seen) => seen.reportThreshold === safety.reportThreshold + 2,
      3000,
      'the new report threshold on the second instance',
    );
  });

  it('an instance killed and restarted under its INSTANCE_ID does not leave its earlier waiting users in the queue', async () => {
    const env3 = { ...env(), INSTANCE_ID: 'third' };
    const third = await startServerProcess('cluster-third', env3);
    const ghost = await user(third.url, '192.0.2.13');
    await ghost.request('start', {});
    const ghostId = ghost.hello?.sessionId ?? '';
    await waitFor(
      () => redisContents(redis.url, prefix),
      (contents) => contents.includes(ghostId),
      5000,
      'the waiting ticket in Redis',
    );
    await third.stop('SIGKILL');
    // Back within the heartbeat timeout (6 s): to the leader the instance never went away.
    const again = await startServerProcess('cluster-third-again', env3);
    try {
      const a = await user(again.url, '192.0.2.17');
      const b = await user(again.url, '192.0.2.18');
      await a.request('start', {});
      await b.request('start', {});
      const [matchedA, matchedB] = await Promise.all([a.next('matched', 8000), b.next('matched', 8000)]);
      expect(matchedA.pairId).toBe(matchedB.pairId);
      expect(await redisContents(redis.url, prefix)).not.toMatch(new RegExp(`"${ghostId}":`));
      expect(again.logs.some((line) => line.includes('paired a user who is gone'))).toBe(false);
    } finally {
      await again.stop('SIGKILL');
    }
  });

  it('when the leader dies (kill -9) another instance takes the matching over within the lease', async () => {
    await first.stop('SIGKILL');
    const killedAt = performance.now();
    const a = await user(second.httpUrl, '192.0.2.15');
    const b = await user(second.httpUrl, '192.0.2.16');
    await a.request('start', {});
    await b.request('start', {});
    await Promise.all([a.next('matched', 8000), b.next('matched', 8000)]);
    const tookMs = performance.now() - killedAt;
    expect((await getStatus(second.httpUrl)).cluster.leader).toBe('second');
    // The lease is 3 s; it is renewed every second.
    expect(tookMs).toBeLessThan(4500);
  });
});

const admin = (url: string, method: string, path: string, body?: unknown) =>
  adminRequest(url, ADMIN_TOKEN, method, path, body);

describe('when Redis goes away', () => {
  let redis: RedisServer;
  let server: TestServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    server = await startTestServer({ REDIS_URL: redis.url, REDIS_PREFIX: `outage-${process.pid}:` });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.close();
    await redis?.destroy();
  });

  async function user(): Promise<TestClient> {
    const client = await TestClient.join(server.wsUrl);
    clients.push(client);
    return client;
  }

  it('conversations go on, /status says so, new visitors are asked to retry, and searches resume once it is back', async () => {
    const a = await user();
    const b = await user();
    const c = await user();
    const d = await user();
    await a.request('start', {});
    await b.request('start', {});
    const [{ pairId }] = await Promise.all([a.next('matched'), b.next('matched')]);

    await redis.stop();
    const status = await getStatus(server.httpUrl);
    expect(status.cluster).toMatchObject({ store: 'redis', connected: false });
    // The conversation under way goes on.
    await a.request('chat', { pairId, text: 'still here', clientMessageId: 'c1' });
    expect((await b.next('chat')).message.text).toBe('still here');
    // A visitor who was never checked against the bans is not let in unchecked: told to retry.
    await expect(TestClient.join(server.wsUrl)).rejects.toMatchObject({ code: 'unavailable' });
    // Users checked when they came in may start; they wait until matching can run again.
    await c.request('start', {});
    await d.request('start', {});
    await c.next('waiting');
    await sleep(2000);
    expect(c.received('matched')).toEqual([]);

    await redis.start();
    await Promise.all([c.next('matched', 10_000), d.next('matched', 10_000)]);
    const { value } = await waitFor(
      () => getStatus(server.httpUrl),
      (candidate) => candidate.cluster.connected && candidate.cluster.leader !== null,
      5000,
      'Redis connected again, with a leader',
    );
    expect(value.pairs).toBe(2);
    expect(value.waiting).toBe(0);
  });
});
