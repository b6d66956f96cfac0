import type { Preferences, Status } from '@meetopia/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/inProcessServer.js';
import { getStatus } from '../helpers/serverProcess.js';
import { localStore, redisStore, type StoreVariant, startRedis, stopRedis } from '../helpers/storeVariants.js';
import { TestClient } from '../helpers/wsClient.js';

/**
 * Public addresses appear here only as header values: the server sits behind a (pretend)
 * trusted proxy and reads the client address from X-Forwarded-For. No traffic leaves loopback.
 */
const GERMANY = '5.9.0.1';
const GERMANY_2 = '193.99.144.80';
const BRITAIN = '81.2.69.160';
const USA = '8.8.8.8';

const prefs = (over: Partial<Preferences> = {}): Preferences => ({
  interests: [],
  language: 'en',
  countryPreference: 'any',
  textOnly: false,
  ...over,
});

beforeAll(startRedis);
afterAll(stopRedis);

describe.each([localStore, redisStore()])(
  'smart matching over the real server ($name store)',
  (store: StoreVariant) => {
    let server: TestServer;
    const clients: TestClient[] = [];
    let device = 0;

    /** A user from this address, with their own device id. */
    async function user(address: string): Promise<TestClient> {
      device += 1;
      const client = await TestClient.join(server.wsUrl, undefined, {
        headers: { 'x-forwarded-for': address },
        deviceId: `device-${device}-${'x'.repeat(16)}`,
      });
      clients.push(client);
      return client;
    }

    async function status(): Promise<Status> {
      return getStatus(server.httpUrl);
    }

    beforeAll(async () => {
      server = await startTestServer({ TRUST_PROXY: 'true', MATCH_WAIT_LIMIT_MS: '4000', ...store.env() });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    });
    afterAll(async () => {
      await server.close();
    });

    it("finds each user's country from the forwarded address, offline; unknown addresses have none", async () => {
      const de = await user(GERMANY);
      const gb = await user(BRITAIN);
      const local = await user('10.1.2.3');
      expect(de.hello?.profile.country).toBe('DE');
      expect(gb.hello?.profile.country).toBe('GB');
      expect(local.hello?.profile.country).toBeNull();
    });

    it('pairs the two who share an interest and tells both what they share', async () => {
      const football = await user(USA);
      const chessJazz = await user(USA);
      const jazz = await user(BRITAIN);
      await football.request('setPreferences', { preferences: prefs({ interests: ['Football'] }) });
      const result = await chessJazz.request('setPreferences', {
        preferences: prefs({ interests: [' Chess ', 'JAZZ', 'jazz'] }),
      });
      expect(result.profile.interests).toEqual(['chess', 'jazz']);
      await jazz.request('setPreferences', { preferences: prefs({ interests: ['jazz'] }) });
      await football.request('start', {});
      await chessJazz.request('start', {});
      await expect(football.next('matched', 500)).rejects.toThrow(/no matched/);
      await jazz.request('start', {});
      const [a, b] = await Promise.all([chessJazz.next('matched'), jazz.next('matched')]);
      expect(a.pairId).toBe(b.pairId);
      expect(a.shared?.interests).toEqual(['jazz']);
      expect(b.shared?.interests).toEqual(['jazz']);
    });

    it('widens a waiting search and says so; anyone will do after the limit', async () => {
      const picky = await user(USA);
      const other = await user(BRITAIN);
      await picky.request('setPreferences', { preferences: prefs({ interests: ['bagpipes'] }) });
      // Nothing in common, and text only against video: a weak match, taken only at the limit.
      await other.request('setPreferences', { preferences: prefs({ language: 'de', textOnly: true }) });
      await picky.request('start', {});
      await other.request('start', {});
      expect((await picky.next('waiting')).stage).toBeUndefined();
      const started = Date.now();
      expect((await picky.next('waiting', 3000)).stage).toBe('wider');
      // At the limit both searches are open to anyone: the round that opens them pairs them.
      const matched = await picky.next('matched', 3000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3500);
      expect(matched.shared?.interests).toEqual([]);
    });

    it('puts the same country first for users who ask, and shows it to both only when both asked', async () => {
      const de1 = await user(GERMANY);
      const us = await user(USA);
      const de2 = await user(GERMANY_2);
      for (const client of [de1, de2]) {
        await client.request('setPreferences', { preferences: prefs({ countryPreference: 'same' }) });
      }
      await de1.request('start', {});
      await us.request('start', {});
      await expect(de1.next('matched', 300)).rejects.toThrow();
      await de2.request('start', {});
      const [a, b] = await Promise.all([de1.next('matched'), de2.next('matched')]);
      expect(a.shared?.country).toBe('DE');
      expect(b.pairId).toBe(a.pairId);
    });

    it('applies changed preferences between conversations and to a search under way', async () => {
      const a = await user(USA);
      const b = await user(BRITAIN);
      await a.request('setPreferences', { preferences: prefs({ interests: ['cats'] }) });
      await a.request('start', {});
      await b.request('setPreferences', { preferences: prefs({ interests: ['dogs'] }) });
      await b.request('start', {});
      await expect(a.next('matched', 300)).rejects.toThrow();
      // B changes their mind while waiting: now they share an interest.
      await b.request('setPreferences', { preferences: prefs({ interests: ['dogs', 'cats'] }) });
      const matched = await b.next('matched');
      expect(matched.shared?.interests).toEqual(['cats']);
    });

    it('refuses bad preferences with an error and changes nothing', async () => {
      const a = await user(USA);
      await a.request('setPreferences', { preferences: prefs({ interests: ['tea'] }) });
      const bad: unknown[] = [
        { interests: ['a', 'b', 'c', 'd', 'e', 'f'], language: 'en', countryPreference: 'any', textOnly: false },
        { interests: ['x'.repeat(31)], language: 'en', countryPreference: 'any', textOnly: false },
        { interests: ['<script>'], language: 'en', countryPreference: 'any', textOnly: false },
        { interests: [], language: 'klingon', countryPreference: 'any', textOnly: false },
        { interests: 'tea', language: 'en', countryPreference: 'any', textOnly: false },
        { interests: [], language: 'en', countryPreference: 'nearby', textOnly: false },
      ];
      // Each bad request got an invalid-message error naming the field.
      const errors = await Promise.all(
        bad.map((preferences, index) =>
          a.request('setPreferences', { preferences } as never).then(
            () => null,
            (error: { code: string; message: string }) => ({ index, ...error }),
          ),
        ),
      );
      for (const error of errors) expect(error?.code).toBe('invalid-message');
      // The profile is what it was.
      const again = await a.request('setPreferences', { preferences: prefs({ interests: ['tea'] }) });
      expect(again.profile.interests).toEqual(['tea']);
    });

    it('reports matching figures in /status and /metrics', async () => {
      const a = await user(GERMANY);
      const b = await user(GERMANY_2);
      const c = await user(BRITAIN);
      await a.request('setPreferences', { preferences: prefs({ interests: ['jazz'] }) });
      await b.request('setPreferences', { preferences: prefs({ interests: ['jazz'] }) });
      await c.request('start', {});
      await c.next('waiting');
      const s = await status();
      expect(s.matching.waitingByCountry).toContainEqual({ country: 'GB', waiting: 1 });
      await a.request('start', {});
      await b.request('start', {});
      await b.next('matched');
      const after = await status();
      expect(after.matching.windowMatches).toBeGreaterThanOrEqual(1);
      expect(after.matching.sharedInterestShare).toBeGreaterThan(0);
      expect(after.matching.sameCountryShare).toBeGreaterThan(0);
      expect(after.matching.scoreDistribution.reduce((sum, row) => sum + row.matches, 0)).toBe(
        after.matching.windowMatches,
      );
      expect(after.matching.waitMs.p95).not.toBeNull();
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^meetopia_match_score_bucket\{le="100"\} \d+/m);
      expect(metrics).toMatch(/^meetopia_matches_shared_interest_total [1-9]/m);
      expect(metrics).toMatch(/^meetopia_waiting_users_by_country\{country="GB"\} 1$/m);
    });
  },
);
