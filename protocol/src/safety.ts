/**
 * Safety: the rules gate, reports and blocks, and bans, as both sides see them. Accounts do not
 * exist: a visitor is a random device id kept in the browser plus their address (which the
 * server stores only as a keyed hash).
 */
import { z } from 'zod';

/** Why a user reports their partner. The values are a public contract (`data-testid="report-reason"` options). */
export const reportReasonSchema = z.enum(['sexual', 'harassment', 'minor', 'spam', 'other']);
export type ReportReason = z.infer<typeof reportReasonSchema>;

/** Longest free text of a report. */
export const MAX_REPORT_TEXT = 500;

/** The browser's random device id: presented at hello, never shown to anyone. */
export const deviceIdSchema = z
  .string()
  .min(16)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be 16 to 64 characters of A-Z a-z 0-9 _ -');

/** The site's rules as the visitor must confirm them; `version` changes whenever the text does. */
export const rulesSchema = z.strictObject({
  version: z.string().min(1).max(64),
  /** Plain text, paragraphs separated by blank lines. */
  text: z.string().min(1).max(10_000),
});
export type Rules = z.infer<typeof rulesSchema>;

/** A ban in force for this visitor: why, and until when (ms since the epoch). */
export const banInfoSchema = z.strictObject({
  until: z.number().int().nonnegative(),
  reason: z.string().max(500),
});
export type BanInfo = z.infer<typeof banInfoSchema>;
