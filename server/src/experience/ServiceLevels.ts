import {
  type ExperienceStatus,
  type ExperienceWindow,
  SERVICE_TARGETS,
  type ServiceTargets,
  type TextModeReason,
} from '@meetopia/protocol';
import { mean, percentile, RollingSamples, ratio } from './RollingSamples.js';

const MINUTE_MS = 60_000;
const FIVE_MINUTES_MS = 5 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;
/** Samples kept per series: an hour of a very busy server; beyond it the 1-hour figures cover the newest. */
const CAPACITY = 50_000;

/** Text fallbacks that mean the service failed the user (not their missing or refused camera). */
const FAILURE_REASONS: ReadonlySet<TextModeReason | undefined> = new Set(['media-failed']);

/**
 * Rolling service-level figures (5 minutes and 1 hour) from what was accepted: calls formed,
 * connect times, reconnections, text fallbacks, media paths and resumes. Pure: the clock is
 * injected, nothing here decides what to believe (that is `ExperienceBounds`).
 */
export class ServiceLevels {
  readonly #targets: ServiceTargets;
  readonly #matches: RollingSamples<true>;
  readonly #connect: RollingSamples<number>;
  /** Durations of the reconnections that recovered, and of those that gave up. */
  readonly #recovered: RollingSamples<number>;
  readonly #gaveUp: RollingSamples<number>;
  readonly #fallbacks: RollingSamples<true>;
  readonly #relayed: RollingSamples<true>;
  readonly #direct: RollingSamples<true>;
  readonly #resumes: RollingSamples<true>;

  constructor(options: { now: () => number; targets?: ServiceTargets }) {
    this.#targets = options.targets ?? SERVICE_TARGETS;
    const series = () => new RollingSamples<never>({ now: options.now, maxAgeMs: HOUR_MS, capacity: CAPACITY });
    this.#matches = series();
    this.#connect = series();
    this.#recovered = series();
    this.#gaveUp = series();
    this.#fallbacks = series();
    this.#relayed = series();
    this.#direct = series();
    this.#resumes = series();
  }

  /** A pair was formed: two calls, one for each member. */
  recordMatch(): void {
    this.#matches.add(true);
  }

  /** Start/Next → first remote frame of one call. */
  recordConnect(firstFrameMs: number): void {
    this.#connect.add(firstFrameMs);
  }

  recordReconnection(outcome: 'recovered' | 'gave-up', durationMs: number): void {
    (outcome === 'recovered' ? this.#recovered : this.#gaveUp).add(durationMs);
  }

  recordFallback(reason: TextModeReason | undefined): void {
    if (FAILURE_REASONS.has(reason)) this.#fallbacks.add(true);
  }

  /** The media path of one call, as its first quality report with a path said. */
  recordPath(relayed: boolean): void {
    (relayed ? this.#relayed : this.#direct).add(true);
  }

  recordResume(): void {
    this.#resumes.add(true);
  }

  /** The `experience` block of /status. */
  status(): ExperienceStatus {
    return {
      targets: this.#targets,
      matchesPerMinute: this.#matches.countWithin(MINUTE_MS),
      last5m: this.#window(FIVE_MINUTES_MS),
      last1h: this.#window(HOUR_MS),
    };
  }

  #window(windowMs: number): ExperienceWindow {
    const calls = this.#matches.countWithin(windowMs) * 2;
    const connect = Float64Array.from(this.#connect.within(windowMs)).sort();
    const recoveredMs = Float64Array.from(this.#recovered.within(windowMs)).sort();
    const reconnections = recoveredMs.length + this.#gaveUp.countWithin(windowMs);
    // Sorted: those within the limit are a prefix.
    let inTime = 0;
    while (inTime < recoveredMs.length && (recoveredMs[inTime] ?? 0) <= this.#targets.reconnectionWithinMs) inTime += 1;
    const fallbacks = this.#fallbacks.countWithin(windowMs);
    const relayed = this.#relayed.countWithin(windowMs);
    const withPath = relayed + this.#direct.countWithin(windowMs);
    return {
      calls,
      connect: {
        reports: connect.length,
        p50Ms: percentile(connect, 0.5),
        avgMs: mean(connect),
        p95Ms: percentile(connect, 0.95),
      },
      reconnection: {
        reports: reconnections,
        recoveredInTime: inTime,
        successShare: ratio(inTime, reconnections),
        p50Ms: percentile(recoveredMs, 0.5),
      },
      fallback: { fallbacks, rate: ratio(fallbacks, calls) },
      turn: { callsWithPath: withPath, relayed, share: ratio(relayed, withPath) },
      resumes: this.#resumes.countWithin(windowMs),
    };
  }
}
