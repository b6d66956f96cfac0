/**
 * The `GET /status` document: live counts from the server, read by operators, the admin page and
 * tests. Declared once here so that the server builds exactly what the admin page parses.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const workerStatusSchema = z.object({
  index: count,
  pid: count,
  /** Sessions whose transports live on this worker. */
  sessions: count,
  /** CPU time used by the worker process, ms (user + system). */
  cpuMs: z.number().nonnegative().nullable(),
  /** Peak resident memory of the worker process, KiB. */
  maxRssKiB: z.number().nonnegative().nullable(),
});
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

export const networkHealthSchema = z.object({
  /** Mean round trip over users with a measurement, ms (null when none). */
  avgLatency: z.number().nonnegative().nullable(),
  qualityDistribution: z.object({ good: count, fair: count, poor: count }),
});
export type NetworkHealth = z.infer<typeof networkHealthSchema>;

/** Recent matches (the last hour, bounded) and who is waiting where. */
export const matchingStatusSchema = z.object({
  /** Matches the figures below are computed over. */
  windowMatches: count,
  /** Waiting users by country (ISO code; top 20, then "other" and "unknown"). */
  waitingByCountry: z.array(z.object({ country: z.string().max(16), waiting: count })),
  /** Matches by score range ("<0", "0-30", "30-60", "60-100", "100+"; 100+ is optimal). */
  scoreDistribution: z.array(z.object({ range: z.string().max(16), matches: count })),
  /** Share of matches where the two shared an interest (null: no matches yet). */
  sharedInterestShare: z.number().min(0).max(1).nullable(),
  /** Share of matches where both were from the same country. */
  sameCountryShare: z.number().min(0).max(1).nullable(),
  /** Share of matches scoring 100 or more. */
  optimalShare: z.number().min(0).max(1).nullable(),
  /** Time users waited before a match, ms. */
  waitMs: z.object({ p50: z.number().nonnegative().nullable(), p95: z.number().nonnegative().nullable() }),
});
export type MatchingStatus = z.infer<typeof matchingStatusSchema>;

export const statusSchema = z.object({
  status: z.enum(['ok', 'shutting-down']),
  uptimeSeconds: count,
  /** Sessions by presence (`paired` counts users with a partner, whatever their presence). */
  connections: z.object({ active: count, standby: count, reconnecting: count, paired: count }),
  /** Users waiting for a partner. */
  waiting: count,
  pairs: count,
  workers: z.array(workerStatusSchema),
  networkHealth: networkHealthSchema,
  /** Video consumers by the spatial layer mediasoup forwards now (index 0 = lowest), and those forwarding none. */
  consumerLayers: z.object({ spatial: z.array(count), none: count }),
  matching: matchingStatusSchema,
});
export type Status = z.infer<typeof statusSchema>;
