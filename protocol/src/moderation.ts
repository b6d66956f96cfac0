/**
 * The moderation part of the admin API (`/api/admin/...`): reports grouped by who was reported,
 * bans, the safety settings and the audit log. The server builds exactly these documents and the
 * admin page parses them with the same schemas. Users are named only by keyed hashes of their
 * device id and address, never in clear.
 */
import { z } from 'zod';
import { MAX_CHAT_LENGTH } from './messages.js';
import { reportReasonSchema } from './safety.js';

const hash = z.string().min(1).max(64);
const time = z.number().int().nonnegative();

/** Who someone is, as far as the server stores it: hashes of their device id and address. */
export const identitySchema = z.strictObject({ device: hash.nullable(), address: hash.nullable() });
export type Identity = z.infer<typeof identitySchema>;

export const reportRecordSchema = z.strictObject({
  id: z.string().max(64),
  reason: reportReasonSchema,
  text: z.string().max(1000).nullable(),
  at: time,
  reporter: identitySchema,
  /** The conversation's last lines, as the rules announce; never video. */
  chat: z
    .array(z.strictObject({ from: z.enum(['reported', 'reporter']), text: z.string().max(MAX_CHAT_LENGTH), ts: time }))
    .max(50),
});
export type ReportRecord = z.infer<typeof reportRecordSchema>;

export const banRecordSchema = z.strictObject({
  id: z.string().max(64),
  target: identitySchema,
  reason: z.string().max(500),
  createdAt: time,
  until: time,
  /** 'auto' for the report threshold, else the admin's name. */
  by: z.string().max(100),
  /** 1 for a first ban, 2 for the next one, … (durations escalate with it). */
  level: z.number().int().min(1),
  /** Set when an admin lifted it early. */
  liftedAt: time.nullable(),
});
export type BanRecord = z.infer<typeof banRecordSchema>;

/** Reports about one reported user, newest first, with the ban in force for them, if any. */
export const reportGroupSchema = z.strictObject({
  target: identitySchema,
  lastAt: time,
  /** Distinct reporters (by device and address) in the whole list. */
  distinctReporters: z.number().int().nonnegative(),
  reports: z.array(reportRecordSchema),
  ban: banRecordSchema.nullable(),
});
export type ReportGroup = z.infer<typeof reportGroupSchema>;

export const reportsResponseSchema = z.strictObject({ groups: z.array(reportGroupSchema) });
export const bansResponseSchema = z.strictObject({ bans: z.array(banRecordSchema) });

/** `POST /api/admin/bans`: ban a device and/or an address by hand. */
export const banRequestSchema = z
  .strictObject({
    target: identitySchema,
    durationMs: z
      .number()
      .int()
      .min(60_000)
      .max(365 * 24 * 3_600_000),
    reason: z.string().trim().min(1).max(500),
  })
  .refine((request) => request.target.device !== null || request.target.address !== null, {
    error: 'name a device or an address to ban',
    path: ['target'],
  });
export type BanRequest = z.infer<typeof banRequestSchema>;

/** `DELETE /api/admin/bans/:id` body: why the ban is lifted. */
export const unbanRequestSchema = z.strictObject({ reason: z.string().trim().min(1).max(500) });

/** Thresholds and durations of the automatic bans, and the rules text; editable live. */
export const safetySettingsSchema = z.strictObject({
  /** Distinct reporters (weighted) within the window that ban someone. */
  reportThreshold: z.number().min(1).max(100),
  reportWindowMs: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 24 * 3_600_000),
  /** Ban lengths, escalating: the first ban, the second, …; later bans use the last one. */
  banDurationsMs: z
    .array(
      z
        .number()
        .int()
        .min(1000)
        .max(365 * 24 * 3_600_000),
    )
    .min(1)
    .max(10),
  /** Reports one reporter may file per hour. */
  reportsPerHour: z.number().int().min(1).max(1000),
  /** Reports older than this are deleted. */
  retentionDays: z.number().int().min(1).max(3650),
  /** The rules every visitor confirms (with their age) before the first Start. */
  rules: z.string().trim().min(1).max(10_000),
});
export type SafetySettings = z.infer<typeof safetySettingsSchema>;

export const auditEntrySchema = z.strictObject({
  at: time,
  who: z.string().max(200),
  action: z.string().max(100),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const auditResponseSchema = z.strictObject({ entries: z.array(auditEntrySchema) });
