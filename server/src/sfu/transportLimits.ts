import type { SimulcastConfig, TransportCaps } from '@meetopia/protocol';

/** What a receiver's Opus audio and RTCP need on top of video, bps. */
const AUDIO_ALLOWANCE = 64_000;
/** The floor never asks for more video than this, whatever the lowest layer's maximum. */
const MAX_VIDEO_FLOOR = 300_000;

/** Bitrate limits of a user's transports, derived from the admin's table. */
export type TransportLimits = TransportCaps & {
  /**
   * Floor of each receive transport's bandwidth estimate (`setMinOutgoingBitrate`): the lowest
   * active layer plus audio. After a sudden drop the estimate can fall far below what the link
   * carries; below the lowest layer's needs mediasoup forwards no video at all, and with only
   * audio flowing the estimate takes many seconds to climb back. Seen at 300 kbps: 7 s of no
   * video without the floor, continuous video at the lowest layer with it.
   */
  minOutgoingBitrate: number;
};

export function transportLimits(config: SimulcastConfig): TransportLimits {
  const lowest = config.layers.find((layer) => layer.active) ?? config.layers[0];
  const video = Math.min(lowest.maxBitrate, MAX_VIDEO_FLOOR);
  return { ...config.transport, minOutgoingBitrate: video + AUDIO_ALLOWANCE };
}
