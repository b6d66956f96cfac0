/**
 * Which simulcast layers a receiver may get: a pure policy with hysteresis, one instance per
 * video consumer. It sets the consumer's *preferred* layers, a ceiling; within it mediasoup
 * still picks the layer its bandwidth estimate allows, packet by packet. The policy adds what
 * mediasoup does not do: it comes down in one step when the estimate collapses, holds a lower
 * layer after a drop instead of climbing back the moment the estimate recovers (that is what
 * makes layers flap on a lossy link), steps down on loss the estimate tolerates (the receiver's
 * reports, the consumer score), and climbs only after a stretch of good conditions, as far as
 * the stretch's lowest estimate carries, waiting longer after each climb that failed.
 */
import type { types } from 'mediasoup';

/** What the policy looks at, sampled at each decision. */
export type LayerSignals = {
  /** Highest spatial layer the publisher sends right now (inactive layers excluded). */
  maxSpatialLayer: number;
  /** Layers mediasoup forwards now; null while nothing is forwarded (paused, no key frame yet). */
  current: types.ConsumerLayers | null;
  /** mediasoup's score of the stream sent to the receiver, 0..10 (10 = no loss reported by the receiver). */
  score: number;
  /** Fraction of packets the receiver reported lost in its last quality report; null when none is recent. */
  reportedLoss: number | null;
  /** mediasoup's estimate of the bitrate the receiver's transport can carry, bps; null before one exists. */
  availableBitrate: number | null;
  /** What each spatial layer carries, lowest first, bps (measured; the configured maximum where unmeasured). */
  layerBitrates: readonly number[];
};

export type LayerPolicyOptions = {
  /** Loss must last this long before stepping down. */
  downAfterMs: number;
  /**
   * How long mediasoup must stay below the ceiling, with an estimate that cannot carry it, before
   * the ceiling follows. Following at once is right: it holds what the estimate already forced,
   * and turns a high layer at a low frame rate (mediasoup drops temporal layers first) into the
   * layer below at the full rate, which is smoother to watch and needs a far smaller key frame.
   */
  followAfterMs: number;
  /** Good conditions must last this long before climbing one rung (doubles after a failed climb). */
  upAfterMs: number;
  /** Longest wait before a climb, however often climbs failed. */
  maxUpAfterMs: number;
  /** A drop within this long after a climb counts as a failed climb. */
  failedClimbWindowMs: number;
  /** Loss above this is bad; at or below `goodLoss` it allows a climb. */
  badLoss: number;
  goodLoss: number;
  /** A consumer score at or below this is bad; at or above `goodScore` it allows a climb. */
  badScore: number;
  goodScore: number;
  /** An estimate below this fraction of the previous one is a sharp drop. */
  sharpDrop: number;
  /** The estimate must exceed what the next layer carries by this factor to climb. */
  climbHeadroom: number;
  /**
   * With this much headroom all through the good stretch, the link has plainly changed (a
   * bandwidth limit was lifted): climb after the short wait, whatever earlier climbs did.
   */
  ampleHeadroom: number;
};

export const defaultLayerPolicyOptions: LayerPolicyOptions = {
  downAfterMs: 2000,
  followAfterMs: 0,
  upAfterMs: 4000,
  maxUpAfterMs: 32_000,
  failedClimbWindowMs: 10_000,
  badLoss: 0.08,
  goodLoss: 0.02,
  badScore: 5,
  goodScore: 8,
  sharpDrop: 0.75,
  climbHeadroom: 1.3,
  ampleHeadroom: 2,
};

/** Why the ceiling moved, for logs and metrics. */
export type LayerChange = 'down-loss' | 'down-bandwidth' | 'down-unavailable' | 'up';

export type LayerDecision = { layers: types.ConsumerLayers; change: LayerChange | null };

/*
 * The ladder, worst to best: rung 0 is the lowest spatial layer at half frame rate (temporal
 * layer 1), rung n (n >= 1) is spatial layer n - 1 at full frame rate (temporal layer 2).
 */

/** The layers of a rung. */
export function rungLayers(rung: number): types.ConsumerLayers {
  return rung === 0 ? { spatialLayer: 0, temporalLayer: 1 } : { spatialLayer: rung - 1, temporalLayer: 2 };
}

/** The highest rung at or below the given layers. */
export function rungOf(layers: types.ConsumerLayers): number {
  const fullRate = (layers.temporalLayer ?? 2) >= 2;
  return fullRate ? layers.spatialLayer + 1 : layers.spatialLayer;
}

export class LayerPolicy {
  readonly #options: LayerPolicyOptions;
  /**
   * The network ceiling as a rung of the ladder; starts at the top. What is applied is this,
   * cut at the highest layer the publisher sends: a layer the admin disabled or the encoder
   * dropped lowers what is applied, not this, so the receiver gets it back the moment it returns.
   */
  #rung = Number.POSITIVE_INFINITY;
  /** The rung applied at the last decision. */
  #applied = Number.POSITIVE_INFINITY;
  /** Since when conditions have been bad / good / squeezed below the ceiling (null: not now). */
  #badSince: number | null = null;
  #goodSince: number | null = null;
  #belowSince: number | null = null;
  /** The estimate of the previous decision, to tell a sharp drop. */
  #previousEstimate: number | null = null;
  /** Lowest bandwidth estimate seen during the current good stretch (one high probe must not decide a climb). */
  #goodStretchEstimate: number | null = null;
  /** When the ceiling last went up, until that climb has held or failed. */
  #lastClimbAt: number | null = null;
  /** Current wait before a climb. */
  #upAfterMs: number;

  constructor(options: LayerPolicyOptions = defaultLayerPolicyOptions) {
    this.#options = options;
    this.#upAfterMs = options.upAfterMs;
  }

  /** The layers applied (the top until the first sample says otherwise). */
  get layers(): types.ConsumerLayers {
    return Number.isFinite(this.#applied) ? rungLayers(this.#applied) : { spatialLayer: 2, temporalLayer: 2 };
  }

  /** Feeds one sample; returns the layers to apply and, when they moved, why. */
  decide(signals: LayerSignals, now: number): LayerDecision {
    const o = this.#options;
    const top = Math.max(0, signals.maxSpatialLayer) + 1;
    /** Whether an estimate carries a rung's spatial layer with this much headroom (no estimate: no objection). */
    const carries = (rung: number, headroom: number, estimate = signals.availableBitrate) =>
      estimate === null || estimate >= (signals.layerBitrates[rungLayers(rung).spatialLayer] ?? 0) * headroom;

    // A climb that held through the failure window earns back the short wait.
    if (this.#lastClimbAt !== null && now - this.#lastClimbAt >= o.failedClimbWindowMs) {
      this.#upAfterMs = o.upAfterMs;
      this.#lastClimbAt = null;
    }

    const ceiling = Math.min(this.#rung, top);
    const currentRung = signals.current ? rungOf(signals.current) : null;
    // mediasoup forwards all the ceiling allows; below it, its own estimate is already limiting.
    const atCeiling = currentRung === null || currentRung >= ceiling;

    // Loss at the ceiling that the estimate does not act on (it tolerates a few percent).
    const lossy = signals.reportedLoss !== null && signals.reportedLoss > o.badLoss;
    const bad = atCeiling && (lossy || signals.score <= o.badScore);
    this.#badSince = bad ? (this.#badSince ?? now) : null;

    // mediasoup fell below the ceiling because its estimate cannot carry the ceiling's layer (a
    // start-up ramp or a missing key frame also leave it below, with a healthy estimate).
    const squeezed = currentRung !== null && currentRung < ceiling && !carries(ceiling, 1);
    this.#belowSince = squeezed ? (this.#belowSince ?? now) : null;

    // The estimate fell sharply below what is being forwarded (the link just got much narrower).
    // Come down at once to what it carries with headroom: mediasoup on its own would step down
    // one layer at a time, each step waiting for a key frame through a congested link; a new
    // ceiling that reaches it before the first key frame lands makes it one step.
    const previousEstimate = this.#previousEstimate;
    this.#previousEstimate = signals.availableBitrate;
    const forwarded = Math.min(currentRung ?? ceiling, ceiling);
    const collapsed =
      signals.availableBitrate !== null &&
      previousEstimate !== null &&
      signals.availableBitrate < previousEstimate * o.sharpDrop &&
      !carries(forwarded, 1);

    let moved: 'down-loss' | 'down-bandwidth' | 'up' | null = null;
    if (collapsed && ceiling > 1) {
      let target = ceiling - 1;
      while (target > 1 && !carries(target, o.climbHeadroom)) target -= 1;
      this.#rung = target;
      moved = 'down-bandwidth';
      this.#belowSince = null;
    } else if (this.#badSince !== null && now - this.#badSince >= o.downAfterMs && ceiling > 0) {
      this.#rung = ceiling - 1;
      moved = 'down-loss';
      this.#badSince = now;
    } else if (this.#belowSince !== null && now - this.#belowSince >= o.followAfterMs && currentRung !== null) {
      // Hold the layer mediasoup fell back to, so that a brief recovery of the estimate does not
      // bounce the receiver up and down again.
      this.#rung = currentRung;
      moved = 'down-bandwidth';
      this.#belowSince = null;
    }

    if (moved !== null) {
      this.#goodSince = null;
      // Falling back soon after a climb: that climb failed, so the next one waits twice as long.
      if (this.#lastClimbAt !== null) this.#upAfterMs = Math.min(o.maxUpAfterMs, this.#upAfterMs * 2);
      this.#lastClimbAt = null;
    } else if (this.#rung < top) {
      const lossGood = signals.reportedLoss === null || signals.reportedLoss <= o.goodLoss;
      const good = atCeiling && lossGood && signals.score >= o.goodScore && carries(this.#rung + 1, o.climbHeadroom);
      if (!good) {
        this.#goodSince = null;
      } else {
        if (this.#goodSince === null) this.#goodStretchEstimate = signals.availableBitrate;
        this.#goodSince ??= now;
        if (this.#goodStretchEstimate !== null && signals.availableBitrate !== null) {
          this.#goodStretchEstimate = Math.min(this.#goodStretchEstimate, signals.availableBitrate);
        }
      }
      const stretch = this.#goodStretchEstimate;
      const ample = stretch !== null && carries(this.#rung + 1, o.ampleHeadroom, stretch);
      const wait = ample ? o.upAfterMs : this.#upAfterMs;
      if (this.#goodSince !== null && now - this.#goodSince >= wait) {
        // Climb as far as the whole good stretch's lowest estimate carries; mediasoup still
        // picks within it, packet by packet.
        let target = this.#rung + 1;
        while (target < top && stretch !== null && carries(target + 1, o.climbHeadroom, stretch)) target += 1;
        this.#rung = target;
        this.#lastClimbAt = now;
        this.#goodSince = null;
        moved = 'up';
      }
    } else {
      this.#goodSince = null;
    }

    const applied = Math.min(this.#rung, top);
    const previous = this.#applied;
    this.#applied = applied;
    let change: LayerChange | null = moved;
    if (change === null && Number.isFinite(previous) && applied !== previous) {
      change = applied < previous ? 'down-unavailable' : 'up';
    }
    return { layers: rungLayers(applied), change };
  }
}
