import type { Status } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { getJson } from '../helpers/serverProcess.js';
import { localStore, redisStore, type StoreVariant, startRedis, stopRedis } from '../helpers/storeVariants.js';
import { sleep } from '../helpers/wait.js';
import { TestClient } from '../helpers/wsClient.js';

beforeAll(startRedis);
afterAll(stopRedis);

describe.each([localStore, redisStore()])('session resume ($name store)', (store: StoreVariant) => {
  let server: TestServer;
  const clients: TestClient[] = [];
  const status = () => getJson<Status>(`${server.httpUrl}/status`);

  async function join(token?: string): Promise<TestClient> {
    const client = await TestClient.join(server.wsUrl, token);
    clients.push(client);
    return client;
  }

  async function pair(): Promise<[TestClient, TestClient, string]> {
    const a = await join();
    const b = await join();
    await a.request('start', {});
    await b.request('start', {});
    const { pairId } = await a.next('matched');
    await b.next('matched');
    // Both were told they were waiting before they were matched: those messages are spent.
    await Promise.all([a.next('waiting'), b.next('waiting')]);
    return [a, b, pairId];
  }

  /** Drops the socket like a network loss and waits until the server has noticed. */
  async function lose(client: TestClient): Promise<void> {
    const closed = client.closed();
    client.drop();
    await closed;
    await sleep(50);
  }

  beforeAll(async () => {
    server = await startTestServer({
      MAX_STANDBY_MS: '1500',
      STANDBY_SWEEP_MS: '100',
      REMATCH_COOLDOWN_MS: '0',
      ...store.env(),
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    // Each test starts on an empty server: wait out sessions still held in standby.
    for (let i = 0; i < 50 && [...server.sessions.sessions].length > 0; i += 1) await sleep(100);
  });
  afterAll(async () => {
    await server.close();
  });

  it('a dropped user is held in standby; the partner is told and not re-matched', async () => {
    const [a, b] = await pair();
    const c = await join();
    await lose(a);
    expect((await b.next('peerConnection')).connected).toBe(false);
    expect(await status()).toMatchObject({ connections: { standby: 1, paired: 2 } });
    await c.request('start', {});
    await expect(b.next('matched', 300)).rejects.toThrow();
  });

  it('resuming restores the partner, the pair and its chat history, with a new token', async () => {
    const [a, b, pairId] = await pair();
    await a.request('chat', { pairId, text: 'one', clientMessageId: 'c1' });
    await b.next('chat');
    await b.request('chat', { pairId, text: 'two', clientMessageId: 'c2' });
    const token = a.hello?.resumeToken ?? '';
    await lose(a);
    await b.next('peerConnection');
    // While A is away, B keeps talking: the line waits in the conversation's history.
    await b.request('chat', { pairId, text: 'are you there?', clientMessageId: 'c3' });

    const back = await join(token);
    expect(back.hello).toMatchObject({ resumed: true, sessionId: a.hello?.sessionId });
    expect(back.hello?.resumeToken).not.toBe(token);
    expect(back.hello?.snapshot).toMatchObject({ phase: 'paired', pairId, peer: { connected: true } });
    expect(back.hello?.snapshot.chat.map((line) => [line.from, line.text])).toEqual([
      ['me', 'one'],
      ['peer', 'two'],
      ['peer', 'are you there?'],
    ]);
    expect((await b.next('peerConnection')).connected).toBe(true);
    expect(await status()).toMatchObject({ connections: { standby: 0, paired: 2 } });
    await back.request('chat', { pairId, text: 'back', clientMessageId: 'c4' });
    expect((await b.next('chat')).message.text).toBe('back');
  });

  it('a resumed session whose transports must reconnect counts as reconnecting', async () => {
    const a = await join();
    await a.request('createTransport', { direction: 'send' });
    const token = a.hello?.resumeToken ?? '';
    await lose(a);
    expect(await status()).toMatchObject({ connections: { standby: 1, reconnecting: 0 } });
    await join(token);
    // Its transport has no ICE connection (no browser here), so it stays "reconnecting".
    expect(await status()).toMatchObject({ connections: { standby: 0, reconnecting: 1 } });
  });

  it('a waiting user in standby leaves the queue and gets their place back on resume', async () => {
    const a = await join();
    await a.request('start', {});
    await a.next('waiting');
    const token = a.hello?.resumeToken ?? '';
    await lose(a);
    expect((await status()).waiting).toBe(0);
    const c = await join();
    await c.request('start', {});
    await expect(c.next('matched', 300)).rejects.toThrow();
    const back = await join(token);
    // The snapshot says waiting; the match comes right after the reply, never before it.
    expect(back.hello?.snapshot.phase).toBe('waiting');
    await back.next('matched');
    expect(back.arrivals.indexOf('response')).toBeLessThan(back.arrivals.indexOf('matched'));
    await c.next('matched');
  });

  it('after the standby window the partner is re-queued and the token is dead', async () => {
    const [a, b] = await pair();
    const token = a.hello?.resumeToken ?? '';
    await lose(a);
    await b.next('peerConnection');
    expect((await b.next('unmatched', 4000)).reason).toBe('peer-timeout');
    await b.next('waiting');
    expect(await status()).toMatchObject({ connections: { standby: 0 }, waiting: 1 });
    await expect(join(token)).rejects.toMatchObject({ code: 'invalid-token' });
  });

  it('refuses a forged token', async () => {
    await expect(join('forged-token-that-names-nobody')).rejects.toMatchObject({ code: 'invalid-token' });
  });

  it('refuses a token used twice, and a token after its session has moved on', async () => {
    const a = await join();
    const first = a.hello?.resumeToken ?? '';
    await lose(a);
    const back = await join(first);
    expect(back.hello?.resumed).toBe(true);
    await expect(join(first)).rejects.toMatchObject({ code: 'invalid-token' });
  });

  it('a token only opens its own session', async () => {
    const a = await join();
    const b = await join();
    const aToken = a.hello?.resumeToken ?? '';
    const bToken = b.hello?.resumeToken ?? '';
    await lose(b);
    const resumedB = await join(bToken);
    expect(resumedB.hello?.sessionId).toBe(b.hello?.sessionId);
    expect(resumedB.hello?.sessionId).not.toBe(a.hello?.sessionId);
    // A's token, held by someone else while A is online, takes A's session and closes A's old socket.
    // Listened for before the thief arrives: the old socket may be closed before the thief's hello
    // is answered (with Redis the answer waits for the ban check).
    const aClosed = a.closed();
    const thief = await join(aToken);
    expect(thief.hello?.sessionId).toBe(a.hello?.sessionId);
    expect(await aClosed).toBe(4001);
    await expect(join(aToken)).rejects.toMatchObject({ code: 'invalid-token' });
  });

  it('a goodbye ends the session for good: its token is refused', async () => {
    const a = await join();
    const token = a.hello?.resumeToken ?? '';
    await a.close(1000);
    await sleep(50);
    await expect(join(token)).rejects.toMatchObject({ code: 'invalid-token' });
  });
});
