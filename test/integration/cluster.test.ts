import { bansResponseSchema, safetySettingsSchema, simulcastConfigSchema } from '@meetopia/protocol';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/adminApi.js';
import { opusParameters, vp8SimulcastParameters } from '../helpers/fakeMedia.js';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { RedisServer } from '../helpers/redisServer.js';
import { getStatus, type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { redisContents } from '../helpers/storeVariants.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { TestClient } from '../helpers/wsClient.js';

const ADMIN_TOKEN = 'cluster-test-admin-token-1234';

/**
 * Several instances sharing one real Redis: one queue with one matcher at a time, one set of
 * safety data, a cluster view in every /status, and pairs across instances (messages relayed
 * through Redis, media piped between the instances' routers).
 */
describe('instances sharing Redis', () => {
  let redis: RedisServer;
  let first: ServerProcess;
  let second: TestServer;
  const clients: TestClient[] = [];
  let prefix: string;

  const env = () => ({ ...redis.env(prefix), ADMIN_TOKEN, TRUST_PROXY: 'true' });

  /** A user coming from `address` (behind the trusted proxy), resuming with `resumeToken` if given. */
  async function user(url: string, address: string, resumeToken?: string): Promise<TestClient> {
    const client = await TestClient.join(`${url.replace('http', 'ws')}/ws`, resumeToken, {
      headers: { 'x-forwarded-for': address },
    });
    clients.push(client);
    return client;
  }

  /** Runs `body` with an instance of its own (named `id`), which is gone afterwards whatever happens. */
  async function withInstance(id: string, body: (instance: ServerProcess) => Promise<void>): Promise<void> {
    const instance = await startServerProcess(`cluster-${id}`, { ...env(), INSTANCE_ID: id });
    try {
      await body(instance);
    } finally {
      await instance.stop('SIGKILL');
    }
  }

  /** Both press Start and are matched with each other; returns their conversation's id. */
  async function startTogether(a: TestClient, b: TestClient): Promise<string> {
    await a.request('start', {});
    await b.request('start', {});
    const [ma, mb] = await Promise.all([a.next('matched'), b.next('matched')]);
    expect(mb.pairId).toBe(ma.pairId);
    return ma.pairId;
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
      address: '127.0.0.1',
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

  it("users of different instances are matched, get each other's media through a pipe, chat, see each other's state, and resume", async () => {
    const a = await user(first.url, '192.0.2.21');
    const b = await user(second.httpUrl, '192.0.2.22');
    const video = await a.request('produce', {
      transportId: await a.prepareMedia(),
      kind: 'video',
      rtpParameters: vp8SimulcastParameters('a'),
    });
    const audio = await b.request('produce', {
      transportId: await b.prepareMedia(),
      kind: 'audio',
      rtpParameters: opusParameters('b'),
    });
    const pairId = await startTogether(a, b);
    // Each consumes the other's producer, piped in from the other instance under the same id.
    expect(await b.next('newConsumer')).toMatchObject({ producerId: video.producerId, kind: 'video' });
    expect(await a.next('newConsumer')).toMatchObject({ producerId: audio.producerId, kind: 'audio' });

    await a.request('chat', { pairId, text: 'from the first', clientMessageId: 'a1' });
    expect((await b.next('chat')).message).toMatchObject({ from: 'peer', text: 'from the first' });
    await b.request('chat', { pairId, text: 'from the second', clientMessageId: 'b1' });
    expect((await a.next('chat')).message).toMatchObject({ from: 'peer', text: 'from the second' });
    await b.request('setTrackEnabled', { kind: 'audio', enabled: false });
    expect(await a.next('peerTracks')).toEqual({ type: 'peerTracks', micMuted: true, cameraOff: false });

    // B's socket drops and comes back: A sees it away and back; B resumes the same conversation.
    b.ws.terminate();
    expect(await a.next('peerConnection')).toMatchObject({ connected: false });
    const back = await TestClient.join(second.wsUrl, b.hello?.resumeToken, {
      headers: { 'x-forwarded-for': '192.0.2.22' },
    });
    clients.push(back);
    expect(back.hello?.snapshot).toMatchObject({
      phase: 'paired',
      pairId,
      peer: { connected: true, micMuted: false },
      chat: [
        { from: 'peer', text: 'from the first' },
        { from: 'me', text: 'from the second' },
      ],
    });
    expect(await a.next('peerConnection')).toMatchObject({ connected: true });

    // A moves on: B hears it, its piped consumer closes, and both wait again.
    await a.request('next', {});
    expect((await back.next('unmatched')).reason).toBe('peer-skipped');
    expect(await back.next('waiting')).toMatchObject({ type: 'waiting' });
    expect((await a.next('unmatched')).reason).toBe('you-skipped');
  });

  it("a user whose partner's instance dies (kill -9) sees them away, then, when they never come back, timed out", async () => {
    // Their own instances, with a short standby window.
    const short = { ...env(), MAX_STANDBY_MS: '3000' };
    const doomed = await startServerProcess('cluster-doomed', { ...short, INSTANCE_ID: 'doomed' });
    const survivor = await startServerProcess('cluster-survivor', { ...short, INSTANCE_ID: 'survivor' });
    try {
      const a = await user(doomed.url, '192.0.2.23');
      const b = await user(survivor.url, '192.0.2.24');
      const pairId = await startTogether(a, b);
      // A conversation under way (a pair whose instance died before it could say so is not held).
      await a.request('chat', { pairId, text: 'hello', clientMessageId: 'h1' });
      await b.next('chat');
      await doomed.stop('SIGKILL');
      const killedAt = performance.now();
      // Heartbeats stop counting after 6 s; pairs are checked every 2 s.
      expect(await b.next('peerConnection', 10_000)).toMatchObject({ connected: false });
      expect(performance.now() - killedAt).toBeLessThan(9000);
      expect((await b.next('unmatched', 6000)).reason).toBe('peer-timeout');
      expect(performance.now() - killedAt).toBeGreaterThan(6000 + 3000 - 500);
      expect(await b.next('waiting')).toMatchObject({ type: 'waiting' });
      await b.request('stop', {});
    } finally {
      await doomed.stop('SIGKILL');
      await survivor.stop('SIGKILL');
    }
  });

  describe('a session outlives its instance', () => {
    it('killed (-9): the page resumes on another instance with the same partner and chat, and media flows again', async () => {
      await withInstance('doomed-kill', async (doomed) => {
        const a = await user(doomed.url, '192.0.2.31');
        const aOpenedAt = Date.now();
        const b = await user(first.url, '192.0.2.32');
        await b.request('produce', {
          transportId: await b.prepareMedia(),
          kind: 'video',
          rtpParameters: vp8SimulcastParameters('b'),
        });
        const pairId = await startTogether(a, b);
        await a.request('chat', { pairId, text: 'before the crash', clientMessageId: 'k1' });
        await b.next('chat');
        // A change reaches Redis within a turn of the event loop; a crash within it loses it.
        await sleep(100);
        await doomed.stop('SIGKILL');
        // The page takes a moment to come back: longer than the server's slack, so that the
        // reconnection report below is only plausible for a session as old as it was there.
        await sleep(Math.max(0, aOpenedAt + 3000 - Date.now()));

        const back = await user(second.httpUrl, '192.0.2.31', a.hello?.resumeToken);
        expect(back.hello).toMatchObject({ resumed: true, sessionId: a.hello?.sessionId });
        expect(back.hello?.snapshot).toMatchObject({
          phase: 'paired',
          pairId,
          chat: [{ from: 'me', text: 'before the crash' }],
          transports: { send: null, recv: null },
        });
        // Its page makes new transports here and gets the partner's video piped from the first instance.
        const video = await back.request('produce', {
          transportId: await back.prepareMedia(),
          kind: 'video',
          rtpParameters: vp8SimulcastParameters('a'),
        });
        expect((await back.next('newConsumer')).kind).toBe('video');
        expect((await b.next('newConsumer')).producerId).toBe(video.producerId);
        await back.request('chat', { pairId, text: 'after the crash', clientMessageId: 'k2' });
        expect((await b.next('chat')).message.text).toBe('after the crash');
        await b.request('chat', { pairId, text: 'welcome back', clientMessageId: 'k3' });
        expect((await back.next('chat')).message.text).toBe('welcome back');
        expect(b.messages.some((message) => message.type === 'unmatched')).toBe(false);
        // Its page reports how long it took to recover: counted here, where the session went on.
        const before = (await getStatus(second.httpUrl)).experience.last5m.reconnection.reports;
        await back.request('experience', {
          report: { kind: 'reconnection', outcome: 'recovered', durationMs: Date.now() - aOpenedAt - 500 },
        });
        expect((await getStatus(second.httpUrl)).experience.last5m.reconnection.reports).toBe(before + 1);
      });
    });

    it('killed (-9) with both users on it: each resumes on a different instance, still together', async () => {
      await withInstance('doomed-both', async (doomed) => {
        const a = await user(doomed.url, '192.0.2.33');
        const b = await user(doomed.url, '192.0.2.34');
        const pairId = await startTogether(a, b);
        await a.request('chat', { pairId, text: 'same instance', clientMessageId: 'd1' });
        await b.next('chat');
        // A change reaches Redis within a turn of the event loop; a crash within it loses it.
        await sleep(100);
        await doomed.stop('SIGKILL');

        const backA = await user(first.url, '192.0.2.33', a.hello?.resumeToken);
        // A's partner has not come back yet: A sees them away.
        expect(backA.hello?.snapshot).toMatchObject({
          phase: 'paired',
          pairId,
          peer: { connected: false },
        });
        const backB = await user(second.httpUrl, '192.0.2.34', b.hello?.resumeToken);
        expect(backB.hello?.snapshot).toMatchObject({
          phase: 'paired',
          pairId,
          peer: { connected: true },
          chat: [{ from: 'peer', text: 'same instance' }],
        });
        expect(await backA.next('peerConnection')).toMatchObject({ connected: true });
        await backA.request('chat', { pairId, text: 'found you', clientMessageId: 'd2' });
        expect((await backB.next('chat')).message).toMatchObject({ from: 'peer', text: 'found you' });
      });
    });

    it('killed (-9) with both users on it, both coming back at the same moment: still together', async () => {
      await withInstance('doomed-race', async (doomed) => {
        const a = await user(doomed.url, '192.0.2.38');
        const b = await user(doomed.url, '192.0.2.39');
        const pairId = await startTogether(a, b);
        await sleep(100);
        await doomed.stop('SIGKILL');
        // Each reads the other's record while the other is being taken over too.
        const [backA, backB] = await Promise.all([
          user(first.url, '192.0.2.38', a.hello?.resumeToken),
          user(second.httpUrl, '192.0.2.39', b.hello?.resumeToken),
        ]);
        for (const back of [backA, backB]) expect(back.hello?.snapshot).toMatchObject({ pairId });
        const connected = async (client: TestClient) =>
          client.hello?.snapshot.peer?.connected || (await client.next('peerConnection', 5000)).connected;
        expect(await connected(backA)).toBe(true);
        expect(await connected(backB)).toBe(true);
        await backA.request('chat', { pairId, text: 'both back', clientMessageId: 'r1' });
        expect((await backB.next('chat')).message.text).toBe('both back');
      });
    });

    it('a damaged session record is no record: the page is told its token is invalid, nothing else changes', async () => {
      const a = await user(second.httpUrl, '192.0.2.37');
      const id = a.hello?.sessionId ?? '';
      const client = createClient({ url: redis.url });
      await client.connect();
      await client.set(`${prefix}sessions:session:${id}`, '{"id":42,"pair":"nonsense"}');
      await client.close();
      await expect(user(first.url, '192.0.2.37', a.hello?.resumeToken)).rejects.toMatchObject({
        code: 'invalid-token',
      });
      // Its session goes on where it is.
      expect(await a.request('ping', {})).toMatchObject({ ts: expect.any(Number) });
      expect((await getStatus(second.httpUrl)).connections.active).toBeGreaterThan(0);
    });

    it('stopped (SIGTERM): the page is handed over to another instance and nobody sees the partner leave', async () => {
      await withInstance('stopping', async (stopping) => {
        const a = await user(stopping.url, '192.0.2.35');
        const b = await user(second.httpUrl, '192.0.2.36');
        const pairId = await startTogether(a, b);
        await b.request('chat', { pairId, text: 'before the restart', clientMessageId: 's1' });
        await a.next('chat');
        const stopped = stopping.stop('SIGTERM');
        expect(await a.next('shutdown')).toMatchObject({ type: 'shutdown' });
        expect(await b.next('peerConnection')).toMatchObject({ connected: false });
        await stopped;

        const back = await user(second.httpUrl, '192.0.2.35', a.hello?.resumeToken);
        expect(back.hello?.snapshot).toMatchObject({
          phase: 'paired',
          pairId,
          chat: [{ from: 'peer', text: 'before the restart' }],
        });
        expect(await b.next('peerConnection')).toMatchObject({ connected: true });
        await back.request('chat', { pairId, text: 'still here', clientMessageId: 's2' });
        expect((await b.next('chat')).message.text).toBe('still here');
        expect(b.messages.some((message) => message.type === 'unmatched')).toBe(false);
      });
    });
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
    // …and at the first instance, which names the same address and device with the same keys
    // (the shared IDENTITY_SECRET; each instance's own generated key would miss the ban).
    const elsewhere = await TestClient.join(`${first.url.replace('http', 'ws')}/ws`, undefined, {
      headers: { 'x-forwarded-for': '192.0.2.13' },
      deviceId: device,
    });
    clients.push(elsewhere);
    expect(elsewhere.hello?.ban?.reason).toBe('spam links');
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
    let ghostId: string;
    try {
      const ghost = await user(third.url, '192.0.2.19');
      await ghost.request('start', {});
      ghostId = ghost.hello?.sessionId ?? '';
      await waitFor(
        () => redisContents(redis.url, prefix),
        (contents) => contents.includes(ghostId),
        5000,
        'the waiting ticket in Redis',
      );
    } finally {
      await third.stop('SIGKILL');
    }
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
    server = await startTestServer(redis.env(`outage-${process.pid}:`));
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
    // Their pages are told that matching is paused and their place kept (within a lease tick).
    await waitFor(
      async () => c.received('waiting'),
      (notices) => notices.some((notice) => notice.held === true),
      3000,
      'a waiting notice saying matching is held',
    );
    await sleep(1000);
    expect(c.received('matched')).toEqual([]);

    await redis.start();
    await Promise.all([c.next('matched', 10_000), d.next('matched', 10_000)]);
    // …and, once it runs again, that it does (before the match).
    expect(c.received('waiting').at(-1)?.held).toBeUndefined();
    const { value } = await waitFor(
      () => getStatus(server.httpUrl),
      (candidate) => candidate.cluster.connected && candidate.cluster.leader !== null,
      5000,
      'Redis connected again, with a leader',
    );
    expect(value.pairs).toBe(2);
    expect(value.waiting).toBe(0);
  });

  it('after an outage longer than the heartbeat timeout, the waiting users of every instance are still matched', async () => {
    const other = await startServerProcess('cluster-outage-other', {
      ...redis.env(`outage-${process.pid}:`),
      INSTANCE_ID: 'other',
    });
    try {
      const here = await user();
      const there = await TestClient.join(`${other.url.replace('http', 'ws')}/ws`);
      clients.push(there);
      await redis.stop();
      await here.request('start', {});
      await there.request('start', {});
      // Longer than the 6-s heartbeat timeout: when Redis is back every heartbeat is old (here
      // it even comes back empty), and nobody's waiting users may be taken for a dead instance's.
      await sleep(7000);
      await redis.start();
      const [a, b] = await Promise.all([here.next('matched', 15_000), there.next('matched', 15_000)]);
      expect(a.pairId).toBe(b.pairId);
    } finally {
      await other.stop('SIGKILL');
    }
  });
});
