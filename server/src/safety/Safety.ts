import { createHash, randomUUID } from 'node:crypto';
import {
  type AuditEntry,
  type BanInfo,
  type BanRecord,
  type BanRequest,
  ErrorCode,
  type Identity,
  ProtocolError,
  type ReportGroup,
  type ReportReason,
  type ReportRecord,
  type Rules,
  type SafetySettings,
} from '@meetopia/protocol';
import type { Logger } from '../logger.js';
import { identityKeys, type SafetyStore, type StoredReport } from '../store/SafetyStore.js';
import { judgeReports, reporterWeight } from './BanPolicy.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The rules a fresh deployment ships with; the admin edits them live. */
export const DEFAULT_RULES = `Meetopia connects you with random strangers for a video or text chat.

By continuing you confirm that you are 18 or older.

Be respectful. No nudity or sexual content, no harassment, hate or threats, no spam or advertising, nothing illegal. Do not record or share other people without their consent.

You can report or block anyone at any time. Reports are reviewed by the people who run this site; a report stores the time, the reason you give and the last lines of your text chat (never video). Users who are reported by several people are banned for a while.`;

export const defaultSafetySettings: SafetySettings = {
  reportThreshold: 3,
  reportWindowMs: HOUR,
  banDurationsMs: [HOUR, DAY, 7 * DAY],
  reportsPerHour: 10,
  retentionDays: 30,
  rules: DEFAULT_RULES,
};

export type SafetyOptions = {
  store: SafetyStore;
  now: () => number;
  logger: Logger;
  /** A ban took effect (automatic or by an admin): connected users of those keys must be told. */
  onBan: (keys: string[], ban: BanInfo) => void;
  /** How often old reports are deleted. */
  retentionSweepMs?: number;
};

/** How long a client waits before trying again when the store cannot be reached. */
const RETRY_UNAVAILABLE_MS = 2000;

function unavailable(cause: unknown, logger: Logger): ProtocolError {
  logger.warn({ err: cause }, 'safety store unreachable; check refused');
  return new ProtocolError(ErrorCode.Unavailable, 'safety checks are unavailable for a moment; try again shortly', {
    retryAfterMs: RETRY_UNAVAILABLE_MS,
  });
}

/** What a report stores about the conversation and the two people in it. */
export type ReportInput = {
  reporter: Identity;
  reported: Identity;
  reason: ReportReason;
  text: string | null;
  chat: ReportRecord['chat'];
};

/**
 * Reports, blocks and bans: the rules of the safety issue around a `SafetyStore`. Bans are
 * decided by the pure `judgeReports`; this class does the I/O, the reporter limits, the audit log
 * of every admin action, and the retention of reports.
 */
export class Safety {
  readonly #options: SafetyOptions;
  readonly #store: SafetyStore;
  #settings: SafetySettings;
  #rules: Rules;
  /** Conversations per identity key in the last day (for reporter weights), newest last. */
  readonly #conversations = new Map<string, number[]>();
  readonly #sweepTimer: NodeJS.Timeout;

  private constructor(options: SafetyOptions, settings: SafetySettings) {
    this.#options = options;
    this.#store = options.store;
    this.#settings = settings;
    this.#rules = rulesOf(settings.rules);
    this.#sweepTimer = setInterval(() => void this.sweep(), options.retentionSweepMs ?? HOUR);
    this.#sweepTimer.unref();
  }

  static async open(options: SafetyOptions): Promise<Safety> {
    const settings = (await options.store.getSettings()) ?? defaultSafetySettings;
    const safety = new Safety(options, settings);
    await safety.sweep();
    return safety;
  }

  get settings(): SafetySettings {
    return this.#settings;
  }

  get rules(): Rules {
    return this.#rules;
  }

  /**
   * The ban in force for this device or address, the longest if several. While the store cannot
   * be reached, `known` (what an earlier check in this session found) stands in; without one the
   * check fails with `unavailable`: nobody is let in unchecked.
   */
  async activeBan(identity: Identity, known?: BanInfo | null): Promise<BanInfo | null> {
    let bans: BanRecord[];
    try {
      bans = await this.#store.activeBansFor(identity, this.#options.now());
    } catch (error) {
      if (known !== undefined && (known === null || known.until > this.#options.now())) return known;
      throw unavailable(error, this.#options.logger);
    }
    const longest = bans.reduce<BanRecord | null>((best, ban) => (best && best.until >= ban.until ? best : ban), null);
    return longest ? { until: longest.until, reason: longest.reason } : null;
  }

  /** Identity keys this user must never meet (`unavailable` while the store cannot be reached). */
  async blockedKeys(identity: Identity): Promise<Set<string>> {
    try {
      return await this.#store.blockedKeys(identity);
    } catch (error) {
      throw unavailable(error, this.#options.logger);
    }
  }

  /** Counts a conversation of these keys (a reporter who reports most of them counts for less). */
  noteConversation(keys: readonly string[]): void {
    const since = this.#options.now() - DAY;
    for (const key of keys) {
      const list = (this.#conversations.get(key) ?? []).filter((at) => at > since);
      list.push(this.#options.now());
      // Bounded: beyond this many a day the weight no longer changes.
      this.#conversations.set(key, list.slice(-500));
    }
  }

  /** Files a report, blocks the two, and bans the reported user when enough people reported them. */
  /** Throws rate-limited when this reporter has filed as many reports as an hour allows. */
  async assertMayReport(reporter: Identity): Promise<void> {
    const lastHour = await this.#store.countReportsBy(reporter, this.#options.now() - HOUR);
    if (lastHour >= this.#settings.reportsPerHour) {
      throw new ProtocolError(ErrorCode.RateLimited, 'too many reports; you can report again later', {
        retryAfterMs: HOUR,
      });
    }
  }

  async report(input: ReportInput): Promise<{ ban: BanRecord | null }> {
    await this.assertMayReport(input.reporter);
    const now = this.#options.now();
    const lastDay = await this.#store.countReportsBy(input.reporter, now - DAY);
    const weight = reporterWeight(lastDay, this.#conversationsLastDay(input.reporter, now));
    const report: StoredReport = {
      id: randomUUID(),
      reason: input.reason,
      text: input.text,
      at: now,
      reporter: input.reporter,
      reported: input.reported,
      chat: input.chat,
      weight,
    };
    await this.#store.addReport(report);
    await this.#store.addBlock(input.reporter, input.reported, now);
    this.#options.logger.info({ reportId: report.id, reason: report.reason, weight }, 'report filed');
    return { ban: await this.#judge(input.reported) };
  }

  /** The two never meet again. */
  async block(blocker: Identity, blocked: Identity): Promise<void> {
    await this.#store.addBlock(blocker, blocked, this.#options.now());
  }

  /** Reports grouped by who was reported (device or address), newest group first. */
  async reportGroups(limit = 500): Promise<ReportGroup[]> {
    const reports = await this.#store.recentReports(limit);
    const groups: Array<{ target: Identity; reports: StoredReport[] }> = [];
    for (const report of reports) {
      const group = groups.find(
        (candidate) =>
          (report.reported.device !== null && candidate.target.device === report.reported.device) ||
          (report.reported.address !== null && candidate.target.address === report.reported.address),
      );
      if (group) group.reports.push(report);
      else groups.push({ target: report.reported, reports: [report] });
    }
    const now = this.#options.now();
    return Promise.all(
      groups.map(async (group) => {
        const bans = await this.#store.activeBansFor(group.target, now);
        const reporters = new Set(group.reports.map((report) => report.reporter.device ?? report.reporter.address));
        return {
          target: group.target,
          lastAt: group.reports[0]?.at ?? 0,
          distinctReporters: reporters.size,
          reports: group.reports.map(({ reported: _reported, weight: _weight, ...record }) => record),
          ban: bans[0] ?? null,
        };
      }),
    );
  }

  activeBans(): Promise<BanRecord[]> {
    return this.#store.activeBans(this.#options.now());
  }

  /** An admin bans a device and/or address by hand. */
  async ban(request: BanRequest, who: string): Promise<BanRecord> {
    const now = this.#options.now();
    const previous = await this.#store.bansFor(request.target);
    const ban: BanRecord = {
      id: randomUUID(),
      target: request.target,
      reason: request.reason,
      createdAt: now,
      until: now + request.durationMs,
      by: who,
      level: previous.length + 1,
      liftedAt: null,
    };
    await this.#store.addBan(ban);
    await this.#audit(who, 'ban', { banId: ban.id, target: ban.target, until: ban.until, reason: ban.reason });
    this.#options.onBan(identityKeys(ban.target), { until: ban.until, reason: ban.reason });
    return ban;
  }

  /** An admin lifts a ban early; null when no such ban is in force. */
  async unban(id: string, reason: string, who: string): Promise<BanRecord | null> {
    const lifted = await this.#store.liftBan(id, this.#options.now());
    if (lifted) await this.#audit(who, 'unban', { banId: id, target: lifted.target, reason });
    return lifted;
  }

  /** New thresholds, durations or rules, applied at once. */
  async updateSettings(settings: SafetySettings, who: string): Promise<void> {
    const before = this.#settings;
    await this.#store.putSettings(settings);
    this.#settings = settings;
    this.#rules = rulesOf(settings.rules);
    await this.#audit(who, 'settings', { before: summarise(before), after: summarise(settings) });
  }

  /** Another instance changed the settings in the shared store: apply them here too. */
  async reloadSettings(): Promise<void> {
    const settings = await this.#store.getSettings();
    if (!settings) return;
    this.#settings = settings;
    this.#rules = rulesOf(settings.rules);
  }

  audit(limit = 200): Promise<AuditEntry[]> {
    return this.#store.audit(limit);
  }

  /** Deletes reports older than the retention period. */
  async sweep(): Promise<number> {
    const deleted = await this.#store.deleteReportsBefore(this.#options.now() - this.#settings.retentionDays * DAY);
    if (deleted > 0) this.#options.logger.info({ deleted }, 'old reports deleted');
    return deleted;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    await this.#store.close();
  }

  /** Bans the reported user when the reports about their device or their address call for it. */
  async #judge(target: Identity): Promise<BanRecord | null> {
    const now = this.#options.now();
    if ((await this.#store.activeBansFor(target, now)).length > 0) return null;
    const previous = await this.#store.bansFor(target);
    const history = { previousBans: previous.length, lastBanAt: previous[0]?.createdAt ?? null };
    const since = now - this.#settings.reportWindowMs;
    for (const side of [
      { device: target.device, address: null },
      { device: null, address: target.address },
    ]) {
      if (side.device === null && side.address === null) continue;
      const reports = await this.#store.reportsAbout(side, since);
      const verdict = judgeReports(
        reports.map((report) => ({
          at: report.at,
          reporterDevice: report.reporter.device,
          reporterAddress: report.reporter.address,
          weight: report.weight,
        })),
        this.#settings,
        history,
        now,
      );
      if (!verdict.ban) continue;
      const ban: BanRecord = {
        id: randomUUID(),
        target,
        reason: `reported by ${Math.round(verdict.weightedReporters)} people`,
        createdAt: now,
        until: now + verdict.durationMs,
        by: 'auto',
        level: verdict.level,
        liftedAt: null,
      };
      await this.#store.addBan(ban);
      await this.#audit('auto', 'ban', { banId: ban.id, target, until: ban.until, level: ban.level });
      this.#options.logger.warn({ banId: ban.id, level: ban.level, until: ban.until }, 'automatic ban');
      this.#options.onBan(identityKeys(target), { until: ban.until, reason: ban.reason });
      return ban;
    }
    return null;
  }

  #conversationsLastDay(identity: Identity, now: number): number {
    let most = 0;
    for (const key of identityKeys(identity)) {
      most = Math.max(most, (this.#conversations.get(key) ?? []).filter((at) => at > now - DAY).length);
    }
    return most;
  }

  /** Records an admin action (who, what, when) in the audit log and the server log. */
  recordAdminAction(who: string, action: string, details: Record<string, unknown>): Promise<void> {
    return this.#audit(who, action, details);
  }

  async #audit(who: string, action: string, details: Record<string, unknown>): Promise<void> {
    const entry = { at: this.#options.now(), who, action, details };
    await this.#store.addAudit(entry);
    this.#options.logger.info({ who, action, details }, 'admin action');
  }
}

/** The rules as visitors confirm them: the version changes whenever the text does. */
export function rulesOf(text: string): Rules {
  return { version: createHash('sha256').update(text).digest('hex').slice(0, 16), text };
}

function summarise(settings: SafetySettings): Record<string, unknown> {
  const { rules, ...rest } = settings;
  return { ...rest, rulesVersion: rulesOf(rules).version };
}
