import type { Status } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { getJson } from '../helpers/serverProcess.js';
import { TestClient } from '../helpers/wsClient.js';

describe('signaling: bad input is answered and changes nothing', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const track = (client: TestClient) => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer({ MAX_CONNECTIONS_PER_IP: '50', MESSAGES_PER_SECOND_PER_IP: '500' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  async function pairedUsers(): Promise<[TestClient, TestClient, string]> {
    const a = track(await TestClient.join(server.wsUrl));
    const b = track(await TestClient.join(server.wsUrl));
    await a.request('start', {});
    await b.request('start', {});
    const matched = await a.next('matched');
    await b.next('matched');
    return [a, b, matched.pairId];
  }

  it('requests before hello are refused as out of order', async () => {
    const client = track(await TestClient.connect(server.wsUrl));
    await expect(client.request('start', {})).rejects.toMatchObject({ code: 'out-of-order' });
    await expect(client.request('createTransport', { direction: 'send' })).rejects.toMatchObject({
      code: 'out-of-order',
    });
    expect((await getJson<Status>(`${server.httpUrl}/status`)).waiting).toBe(0);
  });

  it('a second hello on the same socket is refused', async () => {
    const client = track(await TestClient.join(server.wsUrl));
    await expect(client.request('hello', {})).rejects.toMatchObject({ code: 'out-of-order' });
  });

  it('malformed, unknown, mistyped and oversized messages each get an error, and the pair is untouched', async () => {
    const [a, b, pairId] = await pairedUsers();
    const before = await getJson<Status>(`${server.httpUrl}/status`);
    b.sendRaw('{not json');
    b.sendRaw(JSON.stringify({ id: 10, type: 'teleport' }));
    b.sendRaw(JSON.stringify({ id: 11, type: 'chat', pairId, text: 42, clientMessageId: 'x' }));
    b.sendRaw(JSON.stringify({ id: 12, type: 'start', extra: 'field' }));
    b.sendRaw(JSON.stringify({ id: 13, type: 'chat', pairId, text: 'x'.repeat(40_000), clientMessageId: 'y' }));
    b.sendRaw(Buffer.from([1, 2, 3]));
    b.sendRaw('[]');
    await expect(
      b.request('produce', {
        transportId: 'nope',
        kind: 'video',
        rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }] },
      }),
    ).rejects.toMatchObject({ code: 'unknown-id' });
    await expect(b.request('resumeConsumer', { consumerId: 'nope' })).rejects.toMatchObject({ code: 'unknown-id' });
    await expect(b.request('restartIce', { transportId: 'nope' })).rejects.toMatchObject({ code: 'unknown-id' });
    await expect(b.request('start', {})).rejects.toMatchObject({ code: 'out-of-order' });
    // Every raw frame got its own error; those with a readable id were answered by id.
    const errors = b.orphanErrors.map(({ id, code }) => ({ id, code }));
    expect(errors).toHaveLength(7);
    expect(errors).toEqual(
      expect.arrayContaining([
        { id: null, code: 'bad-json' },
        { id: 10, code: 'invalid-message' },
        { id: 11, code: 'invalid-message' },
        { id: 12, code: 'invalid-message' },
        { id: null, code: 'message-too-large' },
      ]),
    );
    expect(errors.filter((error) => error.id === null && error.code === 'invalid-message')).toHaveLength(2);
    const after = await getJson<Status>(`${server.httpUrl}/status`);
    expect(after).toMatchObject({ connections: before.connections, waiting: before.waiting, pairs: before.pairs });
    // And the conversation still works both ways.
    await b.request('chat', { pairId, text: 'still here', clientMessageId: 'z' });
    expect((await a.next('chat')).message.text).toBe('still here');
  });

  it('another user flooding garbage does not disturb a pair', async () => {
    const [a, b, pairId] = await pairedUsers();
    const vandal = track(await TestClient.join(server.wsUrl));
    for (let i = 0; i < 200; i += 1) vandal.sendRaw(i % 2 ? '%%%' : JSON.stringify({ id: i, type: 'next' }));
    await a.request('chat', { pairId, text: 'unbothered', clientMessageId: 'u' });
    expect((await b.next('chat')).message.text).toBe('unbothered');
    expect((await getJson<Status>(`${server.httpUrl}/status`)).connections.paired).toBe(2);
  });

  it('a frame far over the limit closes only that socket (1009)', async () => {
    const [a, b, pairId] = await pairedUsers();
    const vandal = track(await TestClient.join(server.wsUrl));
    vandal.sendRaw('x'.repeat(1024 * 1024));
    expect(await vandal.closed()).toBe(1009);
    await a.request('chat', { pairId, text: 'fine', clientMessageId: 'f' });
    expect((await b.next('chat')).message.text).toBe('fine');
  });
});

describe('signaling: origin and per-address limits', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      MAX_CONNECTIONS_PER_IP: '3',
      MESSAGES_PER_SECOND_PER_IP: '20',
      ALLOWED_ORIGINS: 'https://meetopia.example',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses a WebSocket from a foreign origin or without an origin', async () => {
    await expect(TestClient.connect(server.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(TestClient.connect(server.wsUrl, { origin: null })).rejects.toThrow('HTTP 403');
    const ok = await TestClient.connect(server.wsUrl, { origin: 'https://meetopia.example' });
    await ok.close();
  });

  it('refuses connections beyond the per-address limit', async () => {
    const origin = 'https://meetopia.example';
    const open = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl, { origin })));
    await expect(TestClient.connect(server.wsUrl, { origin })).rejects.toThrow('HTTP 429');
    await open[0]?.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await TestClient.connect(server.wsUrl, { origin });
    await Promise.all([...open.slice(1), again].map((client) => client.close()));
  });

  it('rate-limits messages per address and answers the excess with rate-limited', async () => {
    const client = await TestClient.connect(server.wsUrl, { origin: 'https://meetopia.example' });
    await client.request('hello', {});
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => client.request('ping', {})));
    const answered = results.filter((result) => result.status === 'fulfilled').length;
    const refused = results.filter(
      (result) => result.status === 'rejected' && (result.reason as { code?: string }).code === 'rate-limited',
    ).length;
    // 20 points per second, one already spent on hello: the excess is refused by request id.
    expect(answered).toBeLessThanOrEqual(20);
    expect(answered + refused).toBe(40);
    expect(refused).toBeGreaterThanOrEqual(20);
    client.drop();
  });

  it('refuses upgrades on other paths', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/elsewhere`, { origin: 'https://meetopia.example' });
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(404);
  });
});

describe('signaling: heartbeat', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ PING_INTERVAL: '1000', PING_TIMEOUT: '500' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes a socket that stops answering pings and holds its session in standby', async () => {
    const silent = await TestClient.connect(server.wsUrl, { autoPong: false });
    await silent.request('hello', {});
    const started = Date.now();
    await silent.closed();
    expect(Date.now() - started).toBeLessThan(3000);
    const status = await getJson<Status>(`${server.httpUrl}/status`);
    expect(status.connections.standby).toBe(1);
  });

  it('keeps a socket that answers', async () => {
    const lively = await TestClient.join(server.wsUrl);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(lively.ws.readyState).toBe(WebSocket.OPEN);
    await lively.close();
  });
});
