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

/** Share (0..1) or null when nothing was measured. */
const share = z.number().min(0).max(1).nullable();
const ms = z.number().nonnegative().nullable();

/**
 * The service-level targets the admin page judges the figures against. Connect and reconnection
 * come from the product sheet; the fallback and TURN targets are ours (see docs/performance.md).
 */
export const SERVICE_TARGETS = {
  /** Average Start/Next → first remote frame under 3 s. */
  connectAvgMs: 3000,
  /** More than 95 % of reconnections recovered within 30 s. */
  reconnectionSuccessShare: 0.95,
  /** Reconnections that count as successful: recovered within this time. */
  reconnectionWithinMs: 30_000,
  /** At most 5 calls in 100 fall back to text because video failed. */
  fallbackRate: 0.05,
  /** At most 10 % of calls relayed through TURN (the SFU offers UDP and TCP on its public address). */
  relayedShare: 0.1,
} as const;

export const serviceTargetsSchema = z.object({
  connectAvgMs: z.number().positive(),
  reconnectionSuccessShare: z.number().min(0).max(1),
  reconnectionWithinMs: z.number().positive(),
  fallbackRate: z.number().nonnegative(),
  relayedShare: z.number().min(0).max(1),
});
export type ServiceTargets = z.infer<typeof serviceTargetsSchema>;

/** Service levels over one rolling window (5 minutes or 1 hour). */
export const experienceWindowSchema = z.object({
  /** Calls the server formed: one per user per conversation (two per match). */
  calls: count,
  /** Start or Next → first remote frame, from the clients' reports (one per call at most). */
  connect: z.object({ reports: count, p50Ms: ms, avgMs: ms, p95Ms: ms }),
  /** Reconnections (socket or media) the clients reported after the server saw them happen. */
  reconnection: z.object({
    reports: count,
    /** Recovered within `targets.reconnectionWithinMs`. */
    recoveredInTime: count,
    successShare: share,
    /** Median duration of the recovered ones, ms. */
    p50Ms: ms,
  }),
  /** Switches from video to text because video failed (the server sees them), per call. */
  fallback: z.object({ fallbacks: count, rate: z.number().nonnegative().nullable() }),
  /** Calls whose media path the client reported, and those relayed through TURN. */
  turn: z.object({ callsWithPath: count, relayed: count, share }),
  /** Sessions resumed on a new socket (the server sees them). */
  resumes: count,
});
export type ExperienceWindow = z.infer<typeof experienceWindowSchema>;

/** How the service feels to users: rolling 5-minute and 1-hour figures and their targets. */
export const experienceStatusSchema = z.object({
  targets: serviceTargetsSchema,
  /** Pairs formed in the last 60 s. */
  matchesPerMinute: count,
  last5m: experienceWindowSchema,
  last1h: experienceWindowSchema,
});
export type ExperienceStatus = z.infer<typeof experienceStatusSchema>;

/** One Meetopia instance of a deployment sharing Redis. */
export const instanceStatusSchema = z.object({
  id: z.string(),
  region: z.string().nullable(),
  /** Where its users send media (its ANNOUNCED_ADDRESS); null from an instance of an earlier version. */
  address: z.string().nullable(),
  startedAt: z.number(),
  /** Its last heartbeat (ms since the epoch). */
  seenAt: z.number(),
  sessions: count,
  waiting: count,
  /** Its live mediasoup workers. */
  mediaWorkers: count,
  /** Cores' worth of CPU its Node process used over the last heartbeat. */
  cpu: z.number().min(0),
});

/** The deployment this instance belongs to: `local` (one process) or `redis` (shared state). */
export const clusterStatusSchema = z.object({
  store: z.enum(['local', 'redis']),
  /** This instance's id (null when alone). */
  self: z.string().nullable(),
  /** Whether the shared store answers now; while it does not, new matches wait. */
  connected: z.boolean(),
  /** The instance running the matching rounds (null: alone, or none known now). */
  leader: z.string().nullable(),
  instances: z.array(instanceStatusSchema),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

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
  experience: experienceStatusSchema,
  cluster: clusterStatusSchema,
});
export type Status = z.infer<typeof statusSchema>;

/**
 * One sample of `/status` as the admin page charts it (`GET /api/admin/history`): taken by the
 * server every few seconds and kept for 15 minutes, so the charts need no outside service.
 */
export const historyPointSchema = z.object({
  /** When the sample was taken, ms since the epoch. */
  at: count,
  active: count,
  waiting: count,
  paired: count,
  /** `experience.matchesPerMinute`. */
  matchesPerMinute: count,
  /** `matching.waitMs.p95` (over the last hour), ms. */
  waitP95Ms: ms,
  /** `networkHealth.qualityDistribution`. */
  quality: z.object({ good: count, fair: count, poor: count }),
  /** `consumerLayers`. */
  layers: z.object({ spatial: z.array(count), none: count }),
  /** CPU each worker used since the previous sample, % of one core (null for a new or replaced worker). */
  workerCpu: z.array(z.object({ index: count, percent: z.number().nonnegative().nullable() })),
});
export type HistoryPoint = z.infer<typeof historyPointSchema>;

export const statusHistorySchema = z.object({
  intervalMs: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  /** Oldest first. */
  points: z.array(historyPointSchema),
});
export type StatusHistory = z.infer<typeof statusHistorySchema>;
