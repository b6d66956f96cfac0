import {
  type BanRequest,
  banRequestSchema,
  describeIssues,
  type ReportReason,
  type SafetySettings,
  safetySettingsSchema,
  unbanRequestSchema,
} from '@meetopia/protocol';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** How each report reason reads on the admin page. */
export const reasonLabels: Record<ReportReason, string> = {
  sexual: 'Nudity or sexual content',
  harassment: 'Harassment or hate',
  minor: 'Appears under 18',
  spam: 'Spam or bot',
  other: 'Other',
};

/** Ban lengths offered by hand. */
export const banDurations: ReadonlyArray<{ label: string; ms: number }> = [
  { label: '1 hour', ms: 3_600_000 },
  { label: '24 hours', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
  { label: '30 days', ms: 30 * 86_400_000 },
];

const units: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** "1 d 2 h", "5 min", "40 s": a duration as people read it (two units at most). */
export function describeDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000) * 1000);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

/** Time left of a ban, as its row shows it. */
export function describeTimeLeft(until: number, now: number): string {
  return until <= now ? 'expired' : `${describeDuration(until - now)} left`;
}

/** A list of durations such as "1h, 24h, 7d" (units s, min or m, h, d) in ms; null when unreadable. */
export function parseDurations(text: string): number[] | null {
  const items = text
    .split(/[,\s]+/)
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) return null;
  const sizes: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  const values: number[] = [];
  for (const item of items) {
    const match = /^(\d+(?:\.\d+)?)(s|m|min|h|d)$/i.exec(item);
    const size = match?.[2] ? sizes[match[2].toLowerCase()] : undefined;
    if (!match || size === undefined) return null;
    values.push(Math.round(Number(match[1]) * size));
  }
  return values;
}

/** Durations as the form shows them: days from a week up, else hours, minutes or seconds ("1h, 24h, 7d"). */
export function formatDurations(values: readonly number[]): string {
  return values.map(formatDuration).join(', ');
}

function formatDuration(ms: number): string {
  if (ms >= 7 * 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}min`;
  return `${ms / 1000}s`;
}

/** The safety settings as the form edits them: minutes and readable durations instead of ms. */
export type SafetyForm = {
  reportThreshold: number;
  reportWindowMinutes: number;
  banDurations: string;
  reportsPerHour: number;
  retentionDays: number;
  rules: string;
};

export function toSafetyForm(settings: SafetySettings): SafetyForm {
  return {
    reportThreshold: settings.reportThreshold,
    reportWindowMinutes: settings.reportWindowMs / 60_000,
    banDurations: formatDurations(settings.banDurationsMs),
    reportsPerHour: settings.reportsPerHour,
    retentionDays: settings.retentionDays,
    rules: settings.rules,
  };
}

/** The form as settings, validated by the schema the server uses; a sentence when invalid. */
export function fromSafetyForm(form: SafetyForm): Checked<SafetySettings> {
  const durations = parseDurations(form.banDurations);
  if (!durations) {
    return { ok: false, error: 'ban lengths: write them like "1h, 24h, 7d" (units s, min, h, d)' };
  }
  const parsed = safetySettingsSchema.safeParse({
    reportThreshold: Number(form.reportThreshold),
    reportWindowMs: Math.round(Number(form.reportWindowMinutes) * 60_000),
    banDurationsMs: durations,
    reportsPerHour: Number(form.reportsPerHour),
    retentionDays: Number(form.retentionDays),
    rules: form.rules,
  });
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: describeIssues(parsed.error) };
}

/** A ban by hand, validated by the server's schema. Empty hashes mean "not this one". */
export function checkBan(input: {
  device: string;
  address: string;
  durationMs: number;
  reason: string;
}): Checked<BanRequest> {
  const parsed = banRequestSchema.safeParse({
    target: { device: input.device.trim() || null, address: input.address.trim() || null },
    durationMs: Number(input.durationMs),
    reason: input.reason,
  });
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: describeIssues(parsed.error) };
}

/** Why a ban is lifted, validated by the server's schema. */
export function checkUnbanReason(reason: string): Checked<string> {
  const parsed = unbanRequestSchema.safeParse({ reason });
  return parsed.success ? { ok: true, value: parsed.data.reason } : { ok: false, error: describeIssues(parsed.error) };
}

/** The first characters of a hash: enough to tell people apart on screen. */
export function shortHash(hash: string | null): string {
  return hash === null ? '—' : hash.slice(0, 12);
}
