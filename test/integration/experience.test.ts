import { type ExperienceStatus, type Status, statusHistorySchema } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { getStatus } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/wait.js';
import { ErrorReply, TestClient } from '../helpers/wsClient.js';

const status = (server: TestServer): Promise<Status> => getStatus(server.httpUrl);

async function experience(server: TestServer): Promise<ExperienceStatus['last5m']> {
  return (await status(server)).experience.last5m;
}

/** Resolves with the error code of a request that must fail. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ErrorReply) return error.code;
    throw error;
  }
  throw new Error('the request was accepted');
}

describe('experience reports are bounded to what the session really went through', () => {
  let server: TestServer;
  let clients: TestClient[] = [];

  async function join(resumeToken?: string): Promise<TestClient> {
    const client = await TestClient.join(server.wsUrl, resumeToken);
    clients.push(client);
    return client;
  }

  /** Two fresh users matched with each other; resolves with both and their pair id. */
  async function pair(): Promise<{ a: TestClient; b: TestClient; pairId: string }> {
    const a = await join();
    const b = await join();
    await a.request('start', {});
    await b.request('start', {});
    const { pairId } = await a.next('matched');
    expect((await b.next('matched')).pairId).toBe(pairId);
    return { a, b, pairId };
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.close()));
    clients = [];
  });
  afterAll(async () => {
    await server?.close();
  });

  it('counts one call report per member of a real pair, and refuses the same call again', async () => {
    const { a, b, pairId } = await pair();
    await a.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 400 } });
    expect(await refusal(a.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 1 } }))).toBe(
      'out-of-order',
    );
    // The conversation ends (a moves on to c); b can still report it as its last one, once.
    const c = await join();
    await c.request('start', {});
    await a.request('next', {});
    expect((await c.next('matched')).pairId).not.toBe(pairId);
    await b.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 800 } });
    expect(await refusal(b.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 800 } }))).toBe(
      'out-of-order',
    );

    const figures = await experience(server);
    expect(figures.calls).toBe(4);
    expect(figures.connect).toEqual({ reports: 2, p50Ms: 400, avgMs: 600, p95Ms: 800 });
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^meetopia_call_connect_seconds_count 2$/m);
    expect(metrics).toMatch(/^meetopia_call_connect_seconds_bucket\{le="0.5"\} 1$/m);
    expect(metrics).toMatch(/^meetopia_service_connect_avg_seconds\{window="5m"\} 0.6$/m);
    expect(metrics).toMatch(/^meetopia_experience_reports_refused_total\{kind="call",reason="duplicate"\} 2$/m);
  });

  it('refuses forged pair ids and pairs of other sessions, and counts nothing', async () => {
    const first = await pair();
    const second = await pair();
    const before = await experience(server);
    const forged = [
      'not-a-pair-at-all',
      second.pairId, // a real pair, but someone else's
      '00000000-0000-4000-8000-000000000000',
    ];
    for (const pairId of forged) {
      expect(
        await refusal(first.a.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 500 } })),
      ).toBe('not-paired');
    }
    // A session that never had a pair cannot report one either.
    const loner = await join();
    expect(
      await refusal(loner.request('experience', { report: { kind: 'call', pairId: first.pairId, firstFrameMs: 500 } })),
    ).toBe('not-paired');
    expect((await experience(server)).connect.reports).toBe(before.connect.reports);
  });

  it('refuses absurd values with an error reply, and counts nothing', async () => {
    const { a, pairId } = await pair();
    const before = await experience(server);
    const invalid: unknown[] = [
      { kind: 'call', pairId, firstFrameMs: -1 },
      { kind: 'call', pairId, firstFrameMs: 1.5 },
      { kind: 'call', pairId, firstFrameMs: 10_000_000 },
      { kind: 'call', pairId, firstFrameMs: '400' },
      { kind: 'call', pairId: '', firstFrameMs: 400 },
      { kind: 'call', pairId, firstFrameMs: 400, extra: 1 },
      { kind: 'reconnection', outcome: 'recovered', durationMs: 10_000_000 },
      { kind: 'reconnection', outcome: 'maybe', durationMs: 1000 },
      { kind: 'survey', score: 10 },
    ];
    for (const report of invalid) {
      a.sendRaw(JSON.stringify({ id: 9000, type: 'experience', report }));
    }
    await waitFor(
      async () => a.orphanErrors.length,
      (count) => count === invalid.length,
      3000,
      'an error reply for each invalid report',
    );
    expect(new Set(a.orphanErrors.map((error) => error.code))).toEqual(new Set(['invalid-message']));
    // Valid by the schema, but longer than this user has waited and talked: not believed.
    const code = await refusal(a.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 100_000 } }));
    expect(code).toBe('invalid-message');
    const after = await experience(server);
    expect(after.connect.reports).toBe(before.connect.reports);
    expect(after.reconnection.reports).toBe(before.reconnection.reports);
    // The refused report did not use the call up: the real figure is still accepted.
    await a.request('experience', { report: { kind: 'call', pairId, firstFrameMs: 300 } });
    expect((await experience(server)).connect.reports).toBe(before.connect.reports + 1);
  });

  it('refuses a reconnection report when the server saw no reconnection', async () => {
    const { a } = await pair();
    const before = await experience(server);
    for (const outcome of ['recovered', 'gave-up'] as const) {
      expect(
        await refusal(a.request('experience', { report: { kind: 'reconnection', outcome, durationMs: 1000 } })),
      ).toBe('out-of-order');
    }
    expect((await experience(server)).reconnection.reports).toBe(before.reconnection.reports);
  });

  it('admits one reconnection report per resume the server saw', async () => {
    const { a, b } = await pair();
    const before = await experience(server);
    const token = a.hello?.resumeToken;
    if (!token) throw new Error('no resume token');
    a.drop();
    await b.next('peerConnection');
    const back = await join(token);
    expect(back.hello?.resumed).toBe(true);
    await back.request('experience', { report: { kind: 'reconnection', outcome: 'recovered', durationMs: 1500 } });
    expect(
      await refusal(
        back.request('experience', { report: { kind: 'reconnection', outcome: 'recovered', durationMs: 1500 } }),
      ),
    ).toBe('out-of-order');
    const after = await experience(server);
    expect(after.resumes - before.resumes).toBe(1);
    expect(after.reconnection.reports - before.reconnection.reports).toBe(1);
    expect(after.reconnection.recoveredInTime - before.reconnection.recoveredInTime).toBe(1);
  });

  it('a session that could not be resumed may report, once, that its reconnection gave up', async () => {
    const before = await experience(server);
    // What the page does when its resume token is refused (the session expired): hello again, fresh.
    const client = await TestClient.connect(server.wsUrl);
    clients.push(client);
    expect(await refusal(client.request('hello', { resumeToken: 'expired-or-forged-token' }))).toBe('invalid-token');
    await client.request('hello', {});
    const gaveUp = { kind: 'reconnection', outcome: 'gave-up', durationMs: 150_000 } as const;
    expect(
      await refusal(client.request('experience', { report: { ...gaveUp, outcome: 'recovered', durationMs: 1000 } })),
    ).toBe('invalid-message');
    await client.request('experience', { report: gaveUp });
    expect(await refusal(client.request('experience', { report: gaveUp }))).toBe('out-of-order');
    // A plain new session has nothing to report.
    const fresh = await join();
    expect(await refusal(fresh.request('experience', { report: gaveUp }))).toBe('out-of-order');
    const after = await experience(server);
    expect(after.reconnection.reports - before.reconnection.reports).toBe(1);
    expect(after.reconnection.recoveredInTime - before.reconnection.recoveredInTime).toBe(0);
  });

  it('admits one reconnection report per ICE restart (two transports restarted together are one)', async () => {
    const { a } = await pair();
    const before = await experience(server);
    const send = await a.request('createTransport', { direction: 'send' });
    const recv = await a.request('createTransport', { direction: 'recv' });
    await a.request('restartIce', { transportId: send.id });
    await a.request('restartIce', { transportId: recv.id });
    // Longer than this session has existed: not believed (and the reconnection is still there to report).
    expect(
      await refusal(
        a.request('experience', { report: { kind: 'reconnection', outcome: 'gave-up', durationMs: 60_000 } }),
      ),
    ).toBe('invalid-message');
    await a.request('experience', { report: { kind: 'reconnection', outcome: 'gave-up', durationMs: 1000 } });
    expect(
      await refusal(a.request('experience', { report: { kind: 'reconnection', outcome: 'gave-up', durationMs: 1 } })),
    ).toBe('out-of-order');
    // A restart of a transport that is not the session's is refused, and grants nothing.
    const { b: other } = await pair();
    const foreign = await other.request('createTransport', { direction: 'send' });
    expect(await refusal(a.request('restartIce', { transportId: foreign.id }))).toBe('unknown-id');
    expect(
      await refusal(a.request('experience', { report: { kind: 'reconnection', outcome: 'recovered', durationMs: 1 } })),
    ).toBe('out-of-order');
    const after = await experience(server);
    expect(after.reconnection.reports - before.reconnection.reports).toBe(1);
    expect(after.reconnection.recoveredInTime - before.reconnection.recoveredInTime).toBe(0);
  });

  it('knows by itself which calls go through TURN and which fell back to text', async () => {
    const before = await experience(server);
    const { a, b } = await pair();
    // The first report with a path decides each call's path; repeats do not count twice.
    await a.request('qualityReport', { report: { rttMs: 20, path: 'relay' } });
    await a.request('qualityReport', { report: { rttMs: 20, path: 'relay' } });
    await b.request('qualityReport', { report: { rttMs: 20, path: 'udp' } });
    // Video failing counts against the service; a user without a camera does not.
    await a.request('setMediaMode', { mode: 'text', reason: 'media-failed' });
    const c = await join();
    await c.request('setMediaMode', { mode: 'text', reason: 'no-camera' });
    const after = await experience(server);
    expect(after.turn.callsWithPath - before.turn.callsWithPath).toBe(2);
    expect(after.turn.relayed - before.turn.relayed).toBe(1);
    expect(after.fallback.fallbacks - before.fallback.fallbacks).toBe(1);
    expect(after.fallback.rate).toBeCloseTo(after.fallback.fallbacks / after.calls, 3);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^meetopia_calls_by_path_total\{path="relay"\} 1$/m);
  });
});

describe('GET /api/admin/history', () => {
  const ADMIN_TOKEN = 'experience-admin-token-0123';

  it('needs the admin token and serves /status samples of the last 15 minutes that match /status', async () => {
    const server = await startTestServer({ ADMIN_TOKEN });
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.join(server.wsUrl)));
    try {
      expect((await fetch(`${server.httpUrl}/api/admin/history`)).status).toBe(401);
      const [a, b] = clients;
      await a?.request('start', {});
      await b?.request('start', {});
      await a?.next('matched');
      const changedAt = Date.now();
      const read = async () => {
        const response = await fetch(`${server.httpUrl}/api/admin/history?since=${changedAt}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(response.status).toBe(200);
        return statusHistorySchema.parse(await response.json());
      };
      const { value: history } = await waitFor(read, (h) => h.points.length > 0, 8000, 'a sample after the match');
      expect(history.intervalMs).toBe(5000);
      expect(history.windowMs).toBe(15 * 60_000);
      const point = history.points.at(-1);
      const now = await status(server);
      expect(point).toMatchObject({
        active: now.connections.active,
        paired: 2,
        waiting: 0,
        matchesPerMinute: now.experience.matchesPerMinute,
        waitP95Ms: now.matching.waitMs.p95,
        quality: now.networkHealth.qualityDistribution,
        layers: now.consumerLayers,
      });
      expect(point?.matchesPerMinute).toBe(1);
      expect(point?.workerCpu.map((worker) => worker.index)).toEqual(now.workers.map((worker) => worker.index));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    }
  });
});
