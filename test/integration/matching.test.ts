import type { Status } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { getJson } from '../helpers/serverProcess.js';
import { localStore, redisStore, type StoreVariant, startRedis, stopRedis } from '../helpers/storeVariants.js';
import { ErrorReply, TestClient } from '../helpers/wsClient.js';

beforeAll(startRedis);
afterAll(stopRedis);

describe.each([localStore, redisStore()])('matching over the real server ($name store)', (store: StoreVariant) => {
  let server: TestServer;
  const clients: TestClient[] = [];

  async function user(): Promise<TestClient> {
    const client = await TestClient.join(server.wsUrl);
    clients.push(client);
    return client;
  }

  async function pair(): Promise<[TestClient, TestClient, string]> {
    const a = await user();
    const b = await user();
    await a.request('start', {});
    await a.next('waiting');
    await b.request('start', {});
    const [ma, mb] = await Promise.all([a.next('matched'), b.next('matched')]);
    expect(ma.pairId).toBe(mb.pairId);
    return [a, b, ma.pairId];
  }

  beforeAll(async () => {
    server = await startTestServer({ REMATCH_COOLDOWN_MS: '60000', ...store.env() });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('start pairs two waiting users and /status counts them', async () => {
    const [a] = await pair();
    expect(a.hello?.snapshot.phase).toBe('idle');
    const status = await getJson<Status>(`${server.httpUrl}/status`);
    expect(status.connections).toMatchObject({ active: 2, paired: 2, standby: 0, reconnecting: 0 });
    expect(status.pairs).toBe(1);
    expect(status.waiting).toBe(0);
  });

  it('a lone user waits and is never paired with themselves', async () => {
    const a = await user();
    await a.request('start', {});
    await a.next('waiting');
    await expect(a.next('matched', 500)).rejects.toThrow(/no matched/);
    await expect(a.request('start', {})).rejects.toMatchObject({ code: 'out-of-order' });
    expect((await getJson<Status>(`${server.httpUrl}/status`)).waiting).toBe(1);
  });

  it('next sends both back to waiting and the skipper meets the third user', async () => {
    const [a, b] = await pair();
    const c = await user();
    await c.request('start', {});
    await c.next('waiting');
    await a.request('next', {});
    expect((await a.next('unmatched')).reason).toBe('you-skipped');
    expect((await b.next('unmatched')).reason).toBe('peer-skipped');
    const [ac, ca] = await Promise.all([a.next('matched'), c.next('matched')]);
    expect(ac.pairId).toBe(ca.pairId);
    // The skipped user waits: the only other waiting user is the one who skipped them.
    await b.next('waiting');
    await expect(b.next('matched', 500)).rejects.toThrow();
  });

  it('stop from either side returns the partner to waiting', async () => {
    const [a, b] = await pair();
    await b.request('stop', {});
    expect((await a.next('unmatched')).reason).toBe('peer-left');
    await a.next('waiting');
    const status = await getJson<Status>(`${server.httpUrl}/status`);
    expect(status.connections.paired).toBe(0);
    expect(status.waiting).toBe(1);
    // The one who stopped is idle: next and stop make no sense now.
    await expect(b.request('next', {})).rejects.toMatchObject({ code: 'out-of-order' });
    await expect(b.request('stop', {})).rejects.toMatchObject({ code: 'out-of-order' });
  });

  it('a goodbye (close 1000) ends the pair at once, without standby', async () => {
    const [a, b] = await pair();
    await b.close(1000);
    expect((await a.next('unmatched')).reason).toBe('peer-left');
    await a.next('waiting');
  });

  it('a close without goodbye (1001: browser crashed or killed) holds the pair in standby', async () => {
    const [a, b] = await pair();
    await b.close(1001);
    expect((await a.next('peerConnection')).connected).toBe(false);
    const status = await getJson<Status>(`${server.httpUrl}/status`);
    expect(status.connections).toMatchObject({ standby: 1, paired: 2 });
  });

  it('chat reaches the partner only, with sender-relative labels', async () => {
    const [a, b, pairId] = await pair();
    const [c, d] = await pair();
    const sent = await a.request('chat', { pairId, text: 'hello there', clientMessageId: 'm1' });
    expect(sent.message).toMatchObject({ from: 'me', text: 'hello there' });
    const got = await b.next('chat');
    expect(got.message).toMatchObject({ from: 'peer', text: 'hello there', messageId: sent.message.messageId });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(c.received('chat')).toHaveLength(0);
    expect(d.received('chat')).toHaveLength(0);
    expect(a.received('chat')).toHaveLength(0);
  });

  it('a re-sent chat line (same client id) is delivered once', async () => {
    const [a, b, pairId] = await pair();
    const first = await a.request('chat', { pairId, text: 'once', clientMessageId: 'same' });
    const again = await a.request('chat', { pairId, text: 'once', clientMessageId: 'same' });
    expect(again.message.messageId).toBe(first.message.messageId);
    await b.next('chat');
    await expect(b.next('chat', 300)).rejects.toThrow();
  });

  it('chat without a partner, or for an ended conversation, is refused', async () => {
    const a = await user();
    await expect(a.request('chat', { pairId: 'nope', text: 'hi', clientMessageId: 'x' })).rejects.toMatchObject({
      code: 'not-paired',
    });
    const [b, c, pairId] = await pair();
    await b.request('next', {});
    await expect(c.request('chat', { pairId, text: 'late', clientMessageId: 'y' })).rejects.toBeInstanceOf(ErrorReply);
  });
});
