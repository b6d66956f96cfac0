import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opusParameters, vp8SimulcastParameters } from '../helpers/fakeMedia.js';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { freePortRun } from '../helpers/ports.js';
import { getJson } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/wait.js';
import { TestClient } from '../helpers/wsClient.js';

/** A user whose send and receive transports exist and whose capabilities are known. */
async function mediaUser(url: string): Promise<TestClient & { sendTransportId: string }> {
  const client = await TestClient.join(url);
  return Object.assign(client, { sendTransportId: await client.prepareMedia() });
}

describe('media routing through mediasoup', () => {
  let server: TestServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    const mediaPort = await freePortRun(2);
    server = await startTestServer({ WORKERS: '2', REMATCH_COOLDOWN_MS: '0', MEDIA_PORT: String(mediaPort) });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('places new sessions on the least-loaded worker', async () => {
    const a = await mediaUser(server.wsUrl);
    const b = await mediaUser(server.wsUrl);
    clients.push(a, b);
    const status = await getJson<{ workers: Array<{ sessions: number }> }>(`${server.httpUrl}/status`);
    expect(status.workers.map((worker) => worker.sessions)).toEqual([1, 1]);
  });

  it("a transport offers one UDP and one TCP candidate on the worker's single media port", async () => {
    const a = await TestClient.join(server.wsUrl);
    clients.push(a);
    const transport = await a.request('createTransport', { direction: 'send' });
    const protocols = transport.iceCandidates.map((candidate) => candidate.protocol).sort();
    expect(protocols).toEqual(['tcp', 'udp']);
    const ports = new Set(transport.iceCandidates.map((candidate) => candidate.port));
    expect(ports.size).toBe(1);
    expect(server.pool.workers.map((worker) => worker.port)).toContain([...ports][0]);
    expect(transport.iceCandidates[0]?.address).toBe('127.0.0.1');
  });

  it("each side consumes the other's producers, across workers, and Next swaps consumers without new transports", async () => {
    const a = await mediaUser(server.wsUrl);
    const b = await mediaUser(server.wsUrl);
    const c = await mediaUser(server.wsUrl);
    clients.push(a, b, c);
    const video = await a.request('produce', {
      transportId: a.sendTransportId,
      kind: 'video',
      rtpParameters: vp8SimulcastParameters('a'),
    });
    await a.request('produce', { transportId: a.sendTransportId, kind: 'audio', rtpParameters: opusParameters('a') });
    await b.request('produce', {
      transportId: b.sendTransportId,
      kind: 'video',
      rtpParameters: vp8SimulcastParameters('b'),
    });

    await a.request('start', {});
    await b.request('start', {});
    await a.next('matched');
    await b.next('matched');
    const forB = [await b.next('newConsumer'), await b.next('newConsumer')];
    expect(forB.map((consumer) => consumer.kind).sort()).toEqual(['audio', 'video']);
    expect(forB.find((consumer) => consumer.kind === 'video')?.producerId).toBe(video.producerId);
    const forA = await a.next('newConsumer');
    expect(forA.kind).toBe('video');
    for (const consumer of forB) await b.request('resumeConsumer', { consumerId: consumer.consumerId });

    // Next: B's consumers close, and the new partner C gets A's producers on the same transports.
    await c.request('start', {});
    await a.request('next', {});
    const closed = [await b.next('consumerClosed'), await b.next('consumerClosed')].map(
      (message) => message.consumerId,
    );
    expect(closed.sort()).toEqual(forB.map((consumer) => consumer.consumerId).sort());
    const forC = [await c.next('newConsumer'), await c.next('newConsumer')];
    expect(forC.map((consumer) => consumer.producerId)).toContain(video.producerId);
    const session = [...server.sessions.sessions].find((s) => s.id === a.hello?.sessionId);
    expect(session?.media.transport('send')?.id).toBe(a.sendTransportId);
  });

  it('refuses a second producer of the same kind and bad RTP parameters without side effects', async () => {
    const a = await mediaUser(server.wsUrl);
    clients.push(a);
    await a.request('produce', {
      transportId: a.sendTransportId,
      kind: 'video',
      rtpParameters: vp8SimulcastParameters(),
    });
    await expect(
      a.request('produce', { transportId: a.sendTransportId, kind: 'video', rtpParameters: vp8SimulcastParameters() }),
    ).rejects.toMatchObject({ code: 'out-of-order' });
    const broken = { ...opusParameters(), codecs: [{ mimeType: 'audio/unknown', payloadType: 100, clockRate: 8000 }] };
    await expect(
      a.request('produce', { transportId: a.sendTransportId, kind: 'audio', rtpParameters: broken }),
    ).rejects.toMatchObject({ code: 'media-error' });
    const session = [...server.sessions.sessions].find((s) => s.id === a.hello?.sessionId);
    expect(session?.media.producers.map((producer) => producer.kind)).toEqual(['video']);
  });
});

describe('media worker failure', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ WORKERS: '2', REMATCH_COOLDOWN_MS: '0' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('a dead worker is replaced, and its users are told and go back to the queue', async () => {
    const a = await mediaUser(server.wsUrl);
    const b = await mediaUser(server.wsUrl);
    await a.request('start', {});
    await b.request('start', {});
    await a.next('matched');
    await b.next('matched');
    const victim = [...server.sessions.sessions].find((s) => s.id === a.hello?.sessionId)?.media.worker;
    if (!victim) throw new Error('no worker');
    const replaced = new Promise((resolve) => server.pool.once('workerReplaced', resolve));
    process.kill(victim.pid, 'SIGKILL');

    expect((await a.next('unmatched')).reason).toBe('server-error');
    expect((await b.next('unmatched')).reason).toBe('server-error');
    await a.next('mediaReset');
    await replaced;
    // Both are back in the queue (ahead of newcomers) and are matched again.
    await a.next('matched', 10_000);
    await b.next('matched', 10_000);
    const status = await getJson<{ workers: Array<{ index: number; pid: number }> }>(`${server.httpUrl}/status`);
    expect(status.workers).toHaveLength(2);
    expect(status.workers.map((worker) => worker.pid)).not.toContain(victim.pid);
    // The moved session can build media again on its new worker.
    await a.request('createTransport', { direction: 'send' });
    await a.close();
    await b.close();
  });
});

describe('graceful shutdown', () => {
  it('tells every client, closes sockets with 1012 and stops the workers', async () => {
    const server = await startTestServer({ WORKERS: '1' });
    const a = await TestClient.join(server.wsUrl);
    const pids = server.pool.workers.map((worker) => worker.pid);
    const closed = a.closed();
    await server.close();
    expect((await a.next('shutdown')).reconnectInMs).toBeGreaterThanOrEqual(0);
    expect(await closed).toBe(1012);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('kills a worker that does not exit when closed, instead of leaving it behind', async () => {
    const server = await startTestServer({ WORKERS: '1' });
    const pids = server.pool.workers.map((worker) => worker.pid);
    // A stopped process answers nothing, as the worker seen asleep with its channel closed.
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      await server.close();
      for (const pid of pids) {
        await waitFor(async () => processGone(pid), Boolean, 2000, `worker ${pid} to be gone`);
      }
    } finally {
      // Whatever happened, this test leaves no stopped worker behind.
      for (const pid of pids) if (!processGone(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 15_000);
});

/** Whether a process has exited, reaped or not (a zombie, not yet reaped, still answers signal 0). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}
