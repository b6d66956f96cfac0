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
});
export type Status = z.infer<typeof statusSchema>;
