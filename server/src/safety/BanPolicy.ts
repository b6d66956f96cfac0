/**
 * When reports ban someone: a pure policy over stored reports, with the clock passed in.
 *
 * - Only reports within the window, and after the target's last ban, count.
 * - Reporters count once each however often they report: two reports are from the same reporter
 *   when they share the reporter's device or address.
 * - A reporter who reports nearly everyone they meet counts for less (their weight, fixed when
 *   the report was filed): reports cannot be used to ban innocent users.
 * - The weighted count of distinct reporters reaching the threshold bans the target; each ban
 *   lasts longer than the one before (1 h, 24 h, 7 days by default).
 */
import type { SafetySettings } from '@meetopia/protocol';

/** One report as the policy needs it. */
export type ReportForPolicy = {
  at: number;
  reporterDevice: string | null;
  reporterAddress: string | null;
  /** 0..1: how much this reporter's word counts. */
  weight: number;
};

export type BanVerdict =
  | { ban: false; weightedReporters: number }
  | { ban: true; weightedReporters: number; durationMs: number; level: number };

/**
 * Whether the reports against one target (a device or an address) ban it now.
 * `previousBans`: how many bans this target had before; `lastBanAt`: when the latest began.
 */
export function judgeReports(
  reports: readonly ReportForPolicy[],
  settings: Pick<SafetySettings, 'reportThreshold' | 'reportWindowMs' | 'banDurationsMs'>,
  history: { previousBans: number; lastBanAt: number | null },
  now: number,
): BanVerdict {
  const since = Math.max(now - settings.reportWindowMs, history.lastBanAt ?? Number.NEGATIVE_INFINITY);
  const counted = reports.filter((report) => report.at > since && report.at <= now);
  const weightedReporters = distinctReporterWeight(counted);
  if (weightedReporters + 1e-9 < settings.reportThreshold) return { ban: false, weightedReporters };
  const level = history.previousBans + 1;
  const durations = settings.banDurationsMs;
  const durationMs = durations[Math.min(level, durations.length) - 1] ?? durations[durations.length - 1] ?? 3_600_000;
  return { ban: true, weightedReporters, durationMs, level };
}

/** Sum over distinct reporters (same device or same address = same reporter) of their highest weight. */
export function distinctReporterWeight(reports: readonly ReportForPolicy[]): number {
  // Union-find over reports: joined when they share a reporter device or address.
  const parent = reports.map((_, index) => index);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root] ?? root;
    parent[i] = root;
    return root;
  };
  const firstByKey = new Map<string, number>();
  reports.forEach((report, index) => {
    for (const key of [
      report.reporterDevice && `d:${report.reporterDevice}`,
      report.reporterAddress && `a:${report.reporterAddress}`,
    ]) {
      if (!key) continue;
      const first = firstByKey.get(key);
      if (first === undefined) firstByKey.set(key, index);
      else parent[find(index)] = find(first);
    }
  });
  const weightByGroup = new Map<number, number>();
  reports.forEach((report, index) => {
    const root = find(index);
    weightByGroup.set(root, Math.max(weightByGroup.get(root) ?? 0, clampWeight(report.weight)));
  });
  let sum = 0;
  for (const weight of weightByGroup.values()) sum += weight;
  return sum;
}

/** Reports a reporter may file in a day at full weight. */
export const REPORTS_AT_FULL_WEIGHT = 3;
/** Share of conversations a reporter may report at full weight. */
export const REPORT_SHARE_AT_FULL_WEIGHT = 0.3;
/** A reporter never counts for less than this. */
export const MIN_REPORTER_WEIGHT = 0.2;

/**
 * How much a new report counts, from what its reporter did in the last day: a few reports count
 * fully; beyond that, reporting more than ~30 % of the people they met lowers the weight.
 */
export function reporterWeight(reportsLastDay: number, conversationsLastDay: number): number {
  if (reportsLastDay < REPORTS_AT_FULL_WEIGHT) return 1;
  const share = (reportsLastDay + 1) / Math.max(1, conversationsLastDay);
  if (share <= REPORT_SHARE_AT_FULL_WEIGHT) return 1;
  return Math.max(MIN_REPORTER_WEIGHT, REPORT_SHARE_AT_FULL_WEIGHT / share);
}

function clampWeight(weight: number): number {
  return Number.isFinite(weight) ? Math.min(1, Math.max(0, weight)) : 0;
}
