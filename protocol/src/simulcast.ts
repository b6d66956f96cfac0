/**
 * The simulcast layer table and transport bitrate caps. Publishers send one encoding per layer
 * (lowest first); an admin edits the table while the service runs. The same schema validates the
 * admin API, the persisted file and what clients receive, so all three agree on what is sane.
 */
import { z } from 'zod';

export const simulcastLayerSchema = z.strictObject({
  /** Downscale factor from the captured resolution (1 = full size). */
  scaleResolutionDownBy: z.number().min(1).max(16),
  /** Encoder bitrate ceiling in bits per second. */
  maxBitrate: z.number().int().min(30_000).max(10_000_000),
  /** Frame rate ceiling. */
  maxFramerate: z.number().int().min(1).max(60),
  /** An inactive layer is not encoded at all. */
  active: z.boolean(),
});
export type SimulcastLayer = z.infer<typeof simulcastLayerSchema>;

export const transportCapsSchema = z.strictObject({
  /** Server-side cap for each user's send transport (`setMaxIncomingBitrate`), bps. */
  maxIncomingBitrate: z.number().int().min(100_000).max(50_000_000),
  /** Starting estimate for each receive transport before congestion control has data, bps. */
  initialAvailableOutgoingBitrate: z.number().int().min(100_000).max(50_000_000),
});
export type TransportCaps = z.infer<typeof transportCapsSchema>;

export const simulcastConfigSchema = z
  .strictObject({
    /** Exactly three layers, lowest resolution first. */
    layers: z.tuple([simulcastLayerSchema, simulcastLayerSchema, simulcastLayerSchema]),
    transport: transportCapsSchema,
  })
  .superRefine((config, ctx) => {
    const [low, mid, high] = config.layers;
    const pairs = [
      [low, mid, 1],
      [mid, high, 2],
    ] as const;
    for (const [lower, upper, index] of pairs) {
      if (upper.maxBitrate <= lower.maxBitrate) {
        ctx.addIssue({
          code: 'custom',
          path: ['layers', index, 'maxBitrate'],
          message: `layer ${index} maxBitrate must be greater than layer ${index - 1}'s (${lower.maxBitrate})`,
        });
      }
      if (upper.scaleResolutionDownBy > lower.scaleResolutionDownBy) {
        ctx.addIssue({
          code: 'custom',
          path: ['layers', index, 'scaleResolutionDownBy'],
          message: `layer ${index} must not be smaller than layer ${index - 1} (scaleResolutionDownBy ${lower.scaleResolutionDownBy})`,
        });
      }
    }
    if (!config.layers.some((layer) => layer.active)) {
      ctx.addIssue({ code: 'custom', path: ['layers'], message: 'at least one layer must be active' });
    }
    const activeSum = config.layers.filter((layer) => layer.active).reduce((sum, layer) => sum + layer.maxBitrate, 0);
    if (config.transport.maxIncomingBitrate < activeSum) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport', 'maxIncomingBitrate'],
        message: `maxIncomingBitrate must be at least the sum of the active layers' maxBitrate (${activeSum})`,
      });
    }
  });
export type SimulcastConfig = z.infer<typeof simulcastConfigSchema>;

/** Three VP8 layers at 1/4, 1/2 and full size: 100 kbps, 300 kbps and 1.2 Mbps. */
export const defaultSimulcastConfig: SimulcastConfig = {
  layers: [
    { scaleResolutionDownBy: 4, maxBitrate: 100_000, maxFramerate: 15, active: true },
    { scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 30, active: true },
    { scaleResolutionDownBy: 1, maxBitrate: 1_200_000, maxFramerate: 30, active: true },
  ],
  transport: { maxIncomingBitrate: 2_000_000, initialAvailableOutgoingBitrate: 1_000_000 },
};

/** How a user's network is doing, from their own reports and the server's measurements. */
export const qualityClassSchema = z.enum(['good', 'fair', 'poor', 'unknown']);
export type QualityClass = z.infer<typeof qualityClassSchema>;

/** What a client measures with `getStats()` and reports periodically. All fields optional: browsers differ. */
export const qualityReportSchema = z.strictObject({
  /** Round trip to the SFU from the selected ICE candidate pair, ms. */
  rttMs: z.number().min(0).max(60_000).optional(),
  /** Fraction of inbound packets lost since the last report, 0..1. */
  packetLoss: z.number().min(0).max(1).optional(),
  /** Inbound video jitter, ms. */
  jitterMs: z.number().min(0).max(60_000).optional(),
  /** The send side's estimate of available bandwidth, bps. */
  availableOutgoingBitrate: z.number().min(0).max(1e9).optional(),
  /** Inbound video bitrate since the last report, bps. */
  inboundVideoBitrate: z.number().min(0).max(1e9).optional(),
  /** Inbound video frames per second. */
  framesPerSecond: z.number().min(0).max(240).optional(),
  /** How media reaches the SFU: directly over UDP or TCP, or relayed through TURN. */
  path: z.enum(['udp', 'tcp', 'relay']).optional(),
});
export type QualityReport = z.infer<typeof qualityReportSchema>;
