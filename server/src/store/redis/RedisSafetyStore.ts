import {
  type AuditEntry,
  auditEntrySchema,
  type BanRecord,
  banRecordSchema,
  type Identity,
  identitySchema,
  reportRecordSchema,
  type SafetySettings,
  safetySettingsSchema,
} from '@meetopia/protocol';
import { z } from 'zod';
import { identityKeys, keysBlockedBy, type SafetyStore, type StoredBlock, type StoredReport } from '../SafetyStore.js';
import type { MeetopiaRedis } from './connection.js';

const storedReportSchema = reportRecordSchema.extend({
  reported: identitySchema,
  reporter: identitySchema,
  weight: z.number().min(0).max(1),
});
const storedBlockSchema = z.strictObject({ a: identitySchema, b: identitySchema, at: z.number() });

/**
 * The safety data in Redis, shared by every instance: each record a JSON value in a hash
 * (validated with the protocol's schemas when read back), with per-identity index sets so that
 * the hot lookups (bans and blocks of a device or address) read only that user's records.
 * Identities are keyed hashes, as in SQLite.
 *
 * Keys (under the deployment's prefix): `safety:reports` (id → report), `safety:reports:at`
 * (zset by time), `safety:reports:about:<key>` / `:by:<key>` (zsets by time); `safety:blocks`,
 * `safety:blocks:of:<key>`; `safety:bans`, `safety:bans:of:<key>`, `safety:bans:until`,
 * `safety:bans:lifted` (id → time); `safety:settings`; `safety:audit` (newest first).
 */
export class RedisSafetyStore implements SafetyStore {
  readonly #redis: MeetopiaRedis;
  readonly #key: (name: string) => string;

  constructor(redis: MeetopiaRedis, prefix: string) {
    this.#redis = redis;
    this.#key = (name) => `${prefix}safety:${name}`;
  }

  async addReport(report: StoredReport): Promise<void> {
    const k = this.#key;
    const entry = { score: report.at, value: report.id };
    const multi = this.#redis
      .multi()
      .hSet(
        k('reports'),
        report.id,
        JSON.stringify({ ...report, reporter: bare(report.reporter), reported: bare(report.reported) }),
      )
      .zAdd(k('reports:at'), entry);
    for (const key of identityKeys(report.reported)) multi.zAdd(k(`reports:about:${key}`), entry);
    for (const key of identityKeys(report.reporter)) multi.zAdd(k(`reports:by:${key}`), entry);
    await multi.exec();
  }

  async reportsAbout(target: Identity, since: number): Promise<StoredReport[]> {
    const ids = await this.#idsSince('reports:about', target, since);
    const reports = await this.#reports([...ids]);
    return reports.sort((a, b) => a.at - b.at);
  }

  async countReportsBy(reporter: Identity, since: number): Promise<number> {
    return (await this.#idsSince('reports:by', reporter, since)).size;
  }

  async recentReports(limit: number): Promise<StoredReport[]> {
    const ids = await this.#redis.zRange(this.#key('reports:at'), '+inf', '-inf', {
      BY: 'SCORE',
      REV: true,
      LIMIT: { offset: 0, count: limit },
    });
    return this.#reports(ids);
  }

  async deleteReportsBefore(before: number): Promise<number> {
    const k = this.#key;
    const ids = await this.#redis.zRangeByScore(k('reports:at'), '-inf', `(${before}`);
    if (ids.length === 0) return 0;
    const reports = await this.#reports(ids);
    const multi = this.#redis.multi().hDel(k('reports'), ids).zRem(k('reports:at'), ids);
    for (const report of reports) {
      for (const key of identityKeys(report.reported)) multi.zRem(k(`reports:about:${key}`), report.id);
      for (const key of identityKeys(report.reporter)) multi.zRem(k(`reports:by:${key}`), report.id);
    }
    await multi.exec();
    return ids.length;
  }

  async addBlock(a: Identity, b: Identity, at: number): Promise<void> {
    const k = this.#key;
    const id = String(await this.#redis.incr(k('blocks:next')));
    const multi = this.#redis.multi().hSet(k('blocks'), id, JSON.stringify({ a: bare(a), b: bare(b), at }));
    for (const key of [...identityKeys(a), ...identityKeys(b)]) multi.sAdd(k(`blocks:of:${key}`), id);
    await multi.exec();
  }

  async blockedKeys(identity: Identity): Promise<Set<string>> {
    const k = this.#key;
    const sets = identityKeys(identity).map((key) => k(`blocks:of:${key}`));
    if (sets.length === 0) return new Set();
    const ids = await this.#redis.sUnion(sets);
    const blocks: StoredBlock[] = (await this.#values('blocks', ids)).map((json) => storedBlockSchema.parse(json));
    return keysBlockedBy(blocks, identity);
  }

  async addBan(ban: BanRecord): Promise<void> {
    const k = this.#key;
    const multi = this.#redis
      .multi()
      .hSet(k('bans'), ban.id, JSON.stringify({ ...ban, target: bare(ban.target), liftedAt: null }))
      .zAdd(k('bans:until'), { score: ban.until, value: ban.id });
    if (ban.liftedAt !== null) multi.hSet(k('bans:lifted'), ban.id, String(ban.liftedAt));
    for (const key of identityKeys(ban.target)) multi.sAdd(k(`bans:of:${key}`), ban.id);
    await multi.exec();
  }

  async activeBansFor(identity: Identity, now: number): Promise<BanRecord[]> {
    const bans = await this.bansFor(identity);
    return bans.filter((ban) => isActive(ban, now)).sort((a, b) => b.until - a.until);
  }

  async bansFor(identity: Identity): Promise<BanRecord[]> {
    const sets = identityKeys(identity).map((key) => this.#key(`bans:of:${key}`));
    if (sets.length === 0) return [];
    const bans = await this.#bans(await this.#redis.sUnion(sets));
    return bans.sort((a, b) => b.createdAt - a.createdAt);
  }

  async activeBans(now: number): Promise<BanRecord[]> {
    const ids = await this.#redis.zRangeByScore(this.#key('bans:until'), `(${now}`, '+inf');
    return (await this.#bans(ids)).filter((ban) => isActive(ban, now)).sort((a, b) => a.until - b.until);
  }

  async liftBan(id: string, at: number): Promise<BanRecord | null> {
    const [ban] = await this.#bans([id]);
    if (!ban || !isActive(ban, at)) return null;
    // The end of a ban never changes and HSETNX lifts it once: two admins lifting it at the same
    // moment get one success between them.
    if (!(await this.#redis.hSetNX(this.#key('bans:lifted'), id, String(at)))) return null;
    return { ...ban, liftedAt: at };
  }

  async getSettings(): Promise<SafetySettings | null> {
    const json = await this.#redis.get(this.#key('settings'));
    if (json === null) return null;
    const parsed = safetySettingsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  }

  async putSettings(settings: SafetySettings): Promise<void> {
    await this.#redis.set(this.#key('settings'), JSON.stringify(settings));
  }

  async addAudit(entry: AuditEntry): Promise<void> {
    await this.#redis.lPush(this.#key('audit'), JSON.stringify(entry));
  }

  async audit(limit: number): Promise<AuditEntry[]> {
    const entries = await this.#redis.lRange(this.#key('audit'), 0, limit - 1);
    return entries.map((json) => auditEntrySchema.parse(JSON.parse(json)));
  }

  /** The connection belongs to whoever opened it (it serves the other stores too). */
  async close(): Promise<void> {}

  /** Ids in the per-identity zsets `<index>:<key>` for any of this identity's keys, since `since`. */
  async #idsSince(index: string, identity: Identity, since: number): Promise<Set<string>> {
    const lists = await Promise.all(
      identityKeys(identity).map((key) => this.#redis.zRangeByScore(this.#key(`${index}:${key}`), since, '+inf')),
    );
    return new Set(lists.flat());
  }

  async #reports(ids: string[]): Promise<StoredReport[]> {
    return (await this.#values('reports', ids)).map((json) => storedReportSchema.parse(json));
  }

  async #bans(ids: string[]): Promise<BanRecord[]> {
    if (ids.length === 0) return [];
    const [values, lifted] = await Promise.all([
      this.#values('bans', ids),
      this.#redis.hmGet(this.#key('bans:lifted'), ids),
    ]);
    const liftedAt = new Map(ids.map((id, i) => [id, lifted[i]]));
    return values.map((json) => {
      const ban = banRecordSchema.parse(json);
      const at = liftedAt.get(ban.id);
      return at === null || at === undefined ? ban : { ...ban, liftedAt: Number(at) };
    });
  }

  /** The JSON values of these fields of a hash, in order, skipping ids no longer there. */
  async #values(hash: string, ids: string[]): Promise<unknown[]> {
    if (ids.length === 0) return [];
    const values = await this.#redis.hmGet(this.#key(hash), ids);
    return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as unknown);
  }
}

/** Only the two hashes: callers may pass richer objects (a session's identity with its keys). */
function bare(identity: Identity): Identity {
  return { device: identity.device, address: identity.address };
}

function isActive(ban: BanRecord, now: number): boolean {
  return ban.until > now && ban.liftedAt === null;
}
