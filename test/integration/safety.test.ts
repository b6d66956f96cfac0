import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditResponseSchema, bansResponseSchema, reportsResponseSchema } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/adminApi.js';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { freePortRun } from '../helpers/ports.js';
import { localStore, redisStore, type StoreVariant, startRedis, stopRedis } from '../helpers/storeVariants.js';
import { ErrorReply, TestClient } from '../helpers/wsClient.js';

const ADMIN_TOKEN = 'safety-test-admin-token-1234';
const BAN_MS = 2000;

/** Every user comes from their own (documentation-range) address through the trusted proxy header. */
let nextUser = 0;

beforeAll(startRedis);
afterAll(stopRedis);

describe.each([localStore, redisStore()])('safety over the real server and its $name store', (store: StoreVariant) => {
  let server: TestServer;
  let dataDir: string;
  const clients: TestClient[] = [];

  async function start(): Promise<void> {
    server = await startTestServer({ TRUST_PROXY: 'true', ADMIN_TOKEN, DATA_DIR: dataDir, ...store.env() });
    // Short bans so that expiry can be tested.
    await admin('PUT', '/safety', { ...(await admin('GET', '/safety')), banDurationsMs: [BAN_MS, 2 * BAN_MS] });
  }

  async function user(options: { address?: string; device?: string; acceptRules?: boolean } = {}): Promise<TestClient> {
    nextUser += 1;
    const client = await TestClient.join(server.wsUrl, undefined, {
      headers: { 'x-forwarded-for': options.address ?? `192.0.2.${nextUser % 250}` },
      deviceId: options.device ?? `device-${nextUser}-abcdefghijklmnop`,
      ...(options.acceptRules === undefined ? {} : { acceptRules: options.acceptRules }),
    });
    clients.push(client);
    return client;
  }

  /** A starts (unless already waiting), then B; both are matched. */
  async function pairUp(a: TestClient, b: TestClient, options: { aWaiting?: boolean } = {}): Promise<string> {
    if (!options.aWaiting) {
      await a.request('start', {});
      await a.next('waiting');
    }
    await b.request('start', {});
    const [ma] = await Promise.all([a.next('matched'), b.next('matched')]);
    return ma.pairId;
  }

  const admin = (method: string, path: string, body?: unknown) =>
    adminRequest<Record<string, unknown>>(server.httpUrl, ADMIN_TOKEN, method, path, body, {
      'x-admin-name': 'moderator-ann',
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'meetopia-safety-'));
    await start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses start until the rules are accepted, and remembers the acceptance for the session', async () => {
    const visitor = await user({ acceptRules: false });
    expect(visitor.hello?.rulesAccepted).toBe(false);
    expect(visitor.hello?.rules.text).toContain('18');
    await expect(visitor.request('start', {})).rejects.toMatchObject({ code: 'rules-not-accepted' });
    await expect(visitor.request('acceptRules', { version: 'not-the-version' })).rejects.toMatchObject({
      code: 'out-of-order',
    });
    await visitor.request('acceptRules', { version: visitor.hello?.rules.version ?? '' });
    await visitor.request('start', {});
    await visitor.next('waiting');
  });

  it('three distinct reporters ban a user within a second; start is refused with the time left; then it expires', async () => {
    const target = await user({ address: '198.51.100.7', device: 'troll-device-0123456789' });
    for (let i = 0; i < 3; i += 1) {
      const reporter = await user();
      const pairId = await pairUp(target, reporter, { aWaiting: i > 0 });
      await reporter.request('chat', { pairId, text: `line ${i} from the reporter`, clientMessageId: `r${i}` });
      const reportedAt = Date.now();
      await reporter.request('report', { reason: 'harassment', text: `report ${i}` });
      // The reporter moves on at once; the reported user is told only that they were skipped.
      expect((await reporter.next('unmatched')).reason).toBe('you-reported');
      expect((await target.next('unmatched')).reason).toBe('peer-skipped');
      if (i === 2) {
        const banned = await target.next('banned', 1000);
        expect(Date.now() - reportedAt).toBeLessThan(1000);
        expect(banned.ban.until).toBeGreaterThan(Date.now());
      }
      await reporter.request('stop', {});
    }
    const refused = await target.request('start', {}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ErrorReply);
    expect(refused).toMatchObject({ code: 'banned' });
    // A new session from the same device (another address) is banned too, and sees it at hello.
    const again = await user({ address: '203.0.113.99', device: 'troll-device-0123456789' });
    expect(again.hello?.ban?.until).toBeGreaterThan(Date.now());
    await expect(again.request('start', {})).rejects.toMatchObject({ code: 'banned' });
    // After the ban: allowed again.
    await new Promise((resolve) => setTimeout(resolve, BAN_MS + 200));
    await again.request('start', {});
    await again.next('waiting');
  });

  it('a block keeps two users apart even when they are the only two waiting, across sessions', async () => {
    const a = await user({ device: 'blocker-device-000000001' });
    const b = await user({ device: 'blocked-device-000000001' });
    await pairUp(a, b);
    await a.request('block', {});
    expect((await a.next('unmatched')).reason).toBe('you-blocked');
    // Both wait, alone together, past the skip cooldown and the wait limit.
    await expect(a.next('matched', 3000)).rejects.toThrow(/no matched/);
    // A new session of B's device, from another address, is still kept away from A…
    await b.close();
    const b2 = await user({ device: 'blocked-device-000000001' });
    await b2.request('start', {});
    await expect(a.next('matched', 1500)).rejects.toThrow(/no matched/);
    // …while anyone else meets A at once.
    const c = await user();
    await c.request('start', {});
    const [ma, mc] = await Promise.all([a.next('matched'), c.next('matched')]);
    expect(ma.pairId).toBe(mc.pairId);
  });

  it('refuses a report without a conversation, an unknown reason or an oversized text, storing nothing', async () => {
    const before = reportsResponseSchema
      .parse(await admin('GET', '/reports'))
      .groups.flatMap((group) => group.reports).length;
    const loner = await user();
    await expect(loner.request('report', { reason: 'spam' })).rejects.toMatchObject({ code: 'not-paired' });
    const a = await user();
    await pairUp(loner, a);
    await expect(loner.request('report', { reason: 'rude' } as never)).rejects.toMatchObject({
      code: 'invalid-message',
    });
    await expect(loner.request('report', { reason: 'other', text: 'x'.repeat(501) })).rejects.toMatchObject({
      code: 'invalid-message',
    });
    const after = reportsResponseSchema
      .parse(await admin('GET', '/reports'))
      .groups.flatMap((group) => group.reports).length;
    expect(after).toBe(before);
    // Still in the same conversation.
    expect(loner.received('unmatched')).toHaveLength(0);
  });

  it('the admin sees reports grouped by who was reported, with the chat excerpt', async () => {
    const { groups } = reportsResponseSchema.parse(await admin('GET', '/reports'));
    const troll = groups.find((group) => group.reports.length >= 3);
    expect(troll?.distinctReporters).toBeGreaterThanOrEqual(3);
    expect(
      troll?.reports[0]?.chat.some((line) => line.from === 'reporter' && line.text.includes('from the reporter')),
    ).toBe(true);
  });

  it('bans survive a restart; the admin lifts one by hand and the audit log says who', async () => {
    const target = await user({ address: '198.51.100.50', device: 'manual-ban-device-0001' });
    const { bans: none } = bansResponseSchema.parse(await admin('GET', '/bans'));
    const ban = await admin('POST', '/bans', {
      target: { device: null, address: null },
      durationMs: 3_600_000,
      reason: 'x',
    }).catch((error: Error) => error);
    expect(ban).toBeInstanceOf(Error);
    // Ban by the device hash the reports list shows: find it from a report.
    const reporter = await user();
    await pairUp(target, reporter);
    await reporter.request('report', { reason: 'spam' });
    const { groups } = reportsResponseSchema.parse(await admin('GET', '/reports'));
    const group = groups[0];
    expect(group?.target.device).toBeTruthy();
    const created = await admin('POST', '/bans', {
      target: group?.target,
      durationMs: 3_600_000,
      reason: 'spamming links',
    });
    expect((await target.next('banned', 1000)).ban.reason).toBe('spamming links');

    await server.close();
    await start();
    const { bans } = bansResponseSchema.parse(await admin('GET', '/bans'));
    expect(bans.length).toBe(none.length + 1);
    const back = await user({ address: '198.51.100.50', device: 'manual-ban-device-0001' });
    expect(back.hello?.ban?.reason).toBe('spamming links');

    await admin('DELETE', `/bans/${String(created.id)}`, { reason: 'appeal accepted' });
    await back.request('start', {});
    await back.next('waiting');
    const { entries } = auditResponseSchema.parse(await admin('GET', '/audit'));
    const unban = entries.find((entry) => entry.action === 'unban');
    expect(unban?.who).toContain('moderator-ann');
    expect(unban?.details).toMatchObject({ reason: 'appeal accepted' });
    expect(entries.find((entry) => entry.action === 'ban' && entry.who.includes('moderator-ann'))).toBeTruthy();
  });

  it('stores no client address and no device id in clear', async () => {
    const address = '198.51.100.222';
    const device = 'very-recognisable-device-id';
    const a = await user({ address, device });
    const b = await user();
    await pairUp(a, b);
    await b.request('report', { reason: 'other', text: 'checking the store' });
    const bytes = await store.contents(dataDir);
    expect(bytes).toContain('checking the store');
    expect(bytes).not.toContain(address);
    expect(bytes).not.toContain(device);
  });

  it('flood limits answer a burst of Next with slow-down, not a disconnect, and refuse repeated lines', async () => {
    const a = await user();
    const b = await user();
    const pairId = await pairUp(a, b);
    await a.request('chat', { pairId, text: 'buy now', clientMessageId: 'c1' });
    await a.request('chat', { pairId, text: 'buy now', clientMessageId: 'c2' });
    await expect(a.request('chat', { pairId, text: 'Buy  now', clientMessageId: 'c3' })).rejects.toMatchObject({
      code: 'spam',
    });
    // Re-sending an accepted line (after a resume) is not a repeat.
    await a.request('chat', { pairId, text: 'buy now', clientMessageId: 'c1' });
    const results = [];
    for (let i = 0; i < 12; i += 1)
      results.push(
        await a.request('next', {}).then(
          () => 'ok',
          (e: ErrorReply) => e.code,
        ),
      );
    expect(results).toContain('rate-limited');
    expect(a.ws.readyState).toBe(a.ws.OPEN);
  });
});

describe('a safety store that cannot be used', () => {
  it('stops the server at start-up with a message naming the file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meetopia-corrupt-'));
    writeFileSync(join(dataDir, 'safety.sqlite'), 'this is not a database, it is garbage '.repeat(200));
    await expect(startTestServer({ DATA_DIR: dataDir })).rejects.toThrow(/safety store .*safety\.sqlite/);
  });

  it('a Redis that cannot be reached stops the server at start-up, named without its password', async () => {
    const port = await freePortRun(1);
    const error = await startTestServer({
      REDIS_URL: `redis://:hunter2-password@127.0.0.1:${port}/0`,
      IDENTITY_SECRET: 'test-identity-key-of-the-cluster',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0 cannot be used`),
    );
    expect((error as Error).message).not.toContain('hunter2');
  });
});
