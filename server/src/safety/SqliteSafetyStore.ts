import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type AuditEntry,
  auditEntrySchema,
  type BanRecord,
  type Identity,
  reportRecordSchema,
  type SafetySettings,
  safetySettingsSchema,
} from '@meetopia/protocol';
import Database from 'better-sqlite3';
import { keysBlockedBy, type SafetyStore, type StoredReport } from '../store/SafetyStore.js';

/** Raised at start-up when the store cannot be opened, read or written: never silent loss. */
export class SafetyStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SafetyStoreError';
  }
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  text TEXT,
  reporter_device TEXT,
  reporter_address TEXT,
  reported_device TEXT,
  reported_address TEXT,
  chat TEXT NOT NULL,
  weight REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_at ON reports (at);
CREATE INDEX IF NOT EXISTS reports_reported_device ON reports (reported_device, at);
CREATE INDEX IF NOT EXISTS reports_reported_address ON reports (reported_address, at);
CREATE INDEX IF NOT EXISTS reports_reporter_device ON reports (reporter_device, at);
CREATE INDEX IF NOT EXISTS reports_reporter_address ON reports (reporter_address, at);
CREATE TABLE IF NOT EXISTS blocks (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  a_device TEXT,
  a_address TEXT,
  b_device TEXT,
  b_address TEXT
);
CREATE INDEX IF NOT EXISTS blocks_a_device ON blocks (a_device);
CREATE INDEX IF NOT EXISTS blocks_a_address ON blocks (a_address);
CREATE INDEX IF NOT EXISTS blocks_b_device ON blocks (b_device);
CREATE INDEX IF NOT EXISTS blocks_b_address ON blocks (b_address);
CREATE TABLE IF NOT EXISTS bans (
  id TEXT PRIMARY KEY,
  device TEXT,
  address TEXT,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  until INTEGER NOT NULL,
  by TEXT NOT NULL,
  level INTEGER NOT NULL,
  lifted_at INTEGER
);
CREATE INDEX IF NOT EXISTS bans_device ON bans (device, until);
CREATE INDEX IF NOT EXISTS bans_address ON bans (address, until);
CREATE INDEX IF NOT EXISTS bans_until ON bans (until);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

type ReportRow = {
  id: string;
  at: number;
  reason: string;
  text: string | null;
  reporter_device: string | null;
  reporter_address: string | null;
  reported_device: string | null;
  reported_address: string | null;
  chat: string;
  weight: number;
};

type BanRow = {
  id: string;
  device: string | null;
  address: string | null;
  reason: string;
  created_at: number;
  until: number;
  by: string;
  level: number;
  lifted_at: number | null;
};

const chatSchema = reportRecordSchema.shape.chat;

/**
 * The safety data in one SQLite file (DATA_DIR/safety.sqlite), WAL mode, through better-sqlite3.
 * Every lookup the hot path makes (bans and blocks of a device or address) is one indexed query.
 * Opening checks the file's integrity and that it can be written: a corrupt or read-only store
 * stops the server at start-up with a message naming the file.
 */
export class SqliteSafetyStore implements SafetyStore {
  readonly #db: Database.Database;
  readonly #statements;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#statements = {
      addReport: db.prepare(
        `INSERT INTO reports (id, at, reason, text, reporter_device, reporter_address, reported_device, reported_address, chat, weight)
         VALUES (@id, @at, @reason, @text, @reporter_device, @reporter_address, @reported_device, @reported_address, @chat, @weight)`,
      ),
      reportsAbout: db.prepare(
        `SELECT * FROM reports WHERE at >= @since AND (reported_device = @device OR reported_address = @address) ORDER BY at`,
      ),
      countReportsBy: db.prepare(
        `SELECT count(*) AS n FROM reports WHERE at >= @since AND (reporter_device = @device OR reporter_address = @address)`,
      ),
      recentReports: db.prepare('SELECT * FROM reports ORDER BY at DESC LIMIT ?'),
      deleteReportsBefore: db.prepare('DELETE FROM reports WHERE at < ?'),
      addBlock: db.prepare(
        'INSERT INTO blocks (at, a_device, a_address, b_device, b_address) VALUES (@at, @a_device, @a_address, @b_device, @b_address)',
      ),
      blocksOf: db.prepare(
        `SELECT a_device, a_address, b_device, b_address FROM blocks
         WHERE a_device = @device OR a_address = @address OR b_device = @device OR b_address = @address`,
      ),
      addBan: db.prepare(
        `INSERT INTO bans (id, device, address, reason, created_at, until, by, level, lifted_at)
         VALUES (@id, @device, @address, @reason, @created_at, @until, @by, @level, @lifted_at)`,
      ),
      activeBansFor: db.prepare(
        `SELECT * FROM bans WHERE until > @now AND lifted_at IS NULL AND (device = @device OR address = @address) ORDER BY until DESC`,
      ),
      bansFor: db.prepare('SELECT * FROM bans WHERE device = @device OR address = @address ORDER BY created_at DESC'),
      activeBans: db.prepare('SELECT * FROM bans WHERE until > ? AND lifted_at IS NULL ORDER BY until'),
      getBan: db.prepare('SELECT * FROM bans WHERE id = ?'),
      liftBan: db.prepare('UPDATE bans SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL AND until > ?'),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      addAudit: db.prepare('INSERT INTO audit (at, who, action, details) VALUES (?, ?, ?, ?)'),
      audit: db.prepare('SELECT at, who, action, details FROM audit ORDER BY id DESC LIMIT ?'),
    };
  }

  /** Opens (creating if needed) the store at `file`. Throws SafetyStoreError when it is unusable. */
  static open(file: string): SqliteSafetyStore {
    let db: Database.Database;
    try {
      mkdirSync(dirname(file), { recursive: true });
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
      db.exec(SCHEMA);
      const version = Number(db.pragma('user_version', { simple: true }));
      if (version > SCHEMA_VERSION) throw new Error(`written by a newer Meetopia (schema ${version})`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      throw new SafetyStoreError(
        `the safety store ${file} cannot be used: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    return new SqliteSafetyStore(db);
  }

  async addReport(report: StoredReport): Promise<void> {
    this.#statements.addReport.run({
      id: report.id,
      at: report.at,
      reason: report.reason,
      text: report.text,
      reporter_device: report.reporter.device,
      reporter_address: report.reporter.address,
      reported_device: report.reported.device,
      reported_address: report.reported.address,
      chat: JSON.stringify(report.chat),
      weight: report.weight,
    });
  }

  async reportsAbout(target: Identity, since: number): Promise<StoredReport[]> {
    const rows = this.#statements.reportsAbout.all({ since, ...lookup(target) }) as ReportRow[];
    return rows.map(toReport);
  }

  async countReportsBy(reporter: Identity, since: number): Promise<number> {
    const row = this.#statements.countReportsBy.get({ since, ...lookup(reporter) }) as { n: number };
    return row.n;
  }

  async recentReports(limit: number): Promise<StoredReport[]> {
    return (this.#statements.recentReports.all(limit) as ReportRow[]).map(toReport);
  }

  async deleteReportsBefore(before: number): Promise<number> {
    return this.#statements.deleteReportsBefore.run(before).changes;
  }

  async addBlock(a: Identity, b: Identity, at: number): Promise<void> {
    this.#statements.addBlock.run({
      at,
      a_device: a.device,
      a_address: a.address,
      b_device: b.device,
      b_address: b.address,
    });
  }

  async blockedKeys(identity: Identity): Promise<Set<string>> {
    const rows = this.#statements.blocksOf.all(lookup(identity)) as Array<{
      a_device: string | null;
      a_address: string | null;
      b_device: string | null;
      b_address: string | null;
    }>;
    return keysBlockedBy(
      rows.map((row) => ({
        a: { device: row.a_device, address: row.a_address },
        b: { device: row.b_device, address: row.b_address },
      })),
      identity,
    );
  }

  async addBan(ban: BanRecord): Promise<void> {
    this.#statements.addBan.run({
      id: ban.id,
      device: ban.target.device,
      address: ban.target.address,
      reason: ban.reason,
      created_at: ban.createdAt,
      until: ban.until,
      by: ban.by,
      level: ban.level,
      lifted_at: ban.liftedAt,
    });
  }

  async activeBansFor(identity: Identity, now: number): Promise<BanRecord[]> {
    return (this.#statements.activeBansFor.all({ now, ...lookup(identity) }) as BanRow[]).map(toBan);
  }

  async bansFor(identity: Identity): Promise<BanRecord[]> {
    return (this.#statements.bansFor.all(lookup(identity)) as BanRow[]).map(toBan);
  }

  async activeBans(now: number): Promise<BanRecord[]> {
    return (this.#statements.activeBans.all(now) as BanRow[]).map(toBan);
  }

  async liftBan(id: string, at: number): Promise<BanRecord | null> {
    if (this.#statements.liftBan.run(at, id, at).changes === 0) return null;
    const row = this.#statements.getBan.get(id) as BanRow | undefined;
    return row ? toBan(row) : null;
  }

  async getSettings(): Promise<SafetySettings | null> {
    const row = this.#statements.getSetting.get('safety') as { value: string } | undefined;
    if (!row) return null;
    const parsed = safetySettingsSchema.safeParse(JSON.parse(row.value));
    return parsed.success ? parsed.data : null;
  }

  async putSettings(settings: SafetySettings): Promise<void> {
    this.#statements.putSetting.run('safety', JSON.stringify(settings));
  }

  async addAudit(entry: AuditEntry): Promise<void> {
    this.#statements.addAudit.run(entry.at, entry.who, entry.action, JSON.stringify(entry.details));
  }

  async audit(limit: number): Promise<AuditEntry[]> {
    const rows = this.#statements.audit.all(limit) as Array<{
      at: number;
      who: string;
      action: string;
      details: string;
    }>;
    return rows.map((row) => auditEntrySchema.parse({ ...row, details: JSON.parse(row.details) }));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** Query parameters for "this device or this address" (a missing one matches nothing). */
function lookup(identity: Identity): { device: string; address: string } {
  // An empty string never equals a stored hash, so a null side matches no row.
  return { device: identity.device ?? '', address: identity.address ?? '' };
}

function toReport(row: ReportRow): StoredReport {
  return {
    id: row.id,
    reason: reportRecordSchema.shape.reason.parse(row.reason),
    text: row.text,
    at: row.at,
    reporter: { device: row.reporter_device, address: row.reporter_address },
    reported: { device: row.reported_device, address: row.reported_address },
    chat: chatSchema.parse(JSON.parse(row.chat)),
    weight: Number(row.weight),
  };
}

function toBan(row: BanRow): BanRecord {
  return {
    id: row.id,
    target: { device: row.device, address: row.address },
    reason: row.reason,
    createdAt: row.created_at,
    until: row.until,
    by: row.by,
    level: row.level,
    liftedAt: row.lifted_at,
  };
}
