import type { AuditEntry, BanRecord, Identity, ReportRecord, SafetySettings } from '@meetopia/protocol';

/** A report as stored: the record the admin sees, plus whom it is about and its weight. */
export type StoredReport = ReportRecord & {
  reported: Identity;
  /** 0..1: how much the reporter's word counted when they filed it. */
  weight: number;
};

/**
 * Reports, blocks, bans, the safety settings and the admin audit log: the safety data that must
 * survive restarts. SQLite in DATA_DIR is the default; a shared store implements the same calls
 * when Meetopia runs on several machines. Identities are keyed hashes only, never addresses.
 */
export interface SafetyStore {
  addReport(report: StoredReport): Promise<void>;
  /** Reports about this device or address, filed at or after `since`, oldest first. */
  reportsAbout(target: Identity, since: number): Promise<StoredReport[]>;
  /** Reports filed by this device or address at or after `since`. */
  countReportsBy(reporter: Identity, since: number): Promise<number>;
  /** The newest reports, newest first. */
  recentReports(limit: number): Promise<StoredReport[]>;
  /** Deletes reports filed before `before`; returns how many. */
  deleteReportsBefore(before: number): Promise<number>;

  /** The two never meet again (each side by device and by address). */
  addBlock(a: Identity, b: Identity, at: number): Promise<void>;
  /** Identity keys (`d:<hash>`, `a:<hash>`) of everyone blocked with this device or address, either way. */
  blockedKeys(identity: Identity): Promise<Set<string>>;

  addBan(ban: BanRecord): Promise<void>;
  /** Bans in force at `now` for this device or address. */
  activeBansFor(identity: Identity, now: number): Promise<BanRecord[]>;
  /** Every ban this device or address ever had (for escalation), newest first. */
  bansFor(identity: Identity): Promise<BanRecord[]>;
  /** Bans in force at `now`, soonest to end first. */
  activeBans(now: number): Promise<BanRecord[]>;
  /** Lifts a ban early; null when there is no such ban in force. */
  liftBan(id: string, at: number): Promise<BanRecord | null>;

  getSettings(): Promise<SafetySettings | null>;
  putSettings(settings: SafetySettings): Promise<void>;

  addAudit(entry: AuditEntry): Promise<void>;
  /** The newest audit entries, newest first. */
  audit(limit: number): Promise<AuditEntry[]>;

  close(): Promise<void>;
}

/** A block as stored: the two sides, each by device and address hash. */
export type StoredBlock = { a: Identity; b: Identity };

/**
 * The identity keys of everyone on the other side of these blocks from `identity` (blocks found
 * by either of its hashes). A block whose both sides are this user (one device, two addresses)
 * blocks nobody.
 */
export function keysBlockedBy(blocks: Iterable<StoredBlock>, identity: Identity): Set<string> {
  const keys = new Set<string>();
  for (const { a, b } of blocks) {
    const aIsThem = sameUser(a, identity);
    if (aIsThem === sameUser(b, identity)) continue;
    for (const key of identityKeys(aIsThem ? b : a)) keys.add(key);
  }
  return keys;
}

/** Whether a stored identity shares a device or an address hash with `identity`. */
function sameUser(stored: Identity, identity: Identity): boolean {
  return (
    (stored.device !== null && stored.device === identity.device) ||
    (stored.address !== null && stored.address === identity.address)
  );
}

/** The identity keys matching uses for a device and address hash. */
export function identityKeys(identity: Identity): string[] {
  const keys: string[] = [];
  if (identity.device !== null) keys.push(`d:${identity.device}`);
  if (identity.address !== null) keys.push(`a:${identity.address}`);
  return keys;
}
