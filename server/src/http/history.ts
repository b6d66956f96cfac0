import type { HistoryPoint, Status, StatusHistory as StatusHistoryDocument } from '@meetopia/protocol';
import type { Logger } from '../logger.js';

/** How often the server samples /status for the admin charts. */
export const HISTORY_INTERVAL_MS = 5000;
/** How far back the charts go. */
export const HISTORY_WINDOW_MS = 15 * 60_000;

/** A worker's CPU counter at the previous sample. */
export type CpuReading = { pid: number; cpuMs: number; at: number };

/**
 * One chart point from a /status snapshot taken at `at`. Worker CPU is the share of one core
 * used since `previous` (null when the worker is new or was replaced); `previous` is updated.
 */
export function historyPoint(status: Status, at: number, previous: Map<number, CpuReading>): HistoryPoint {
  const workerCpu = status.workers.map((worker) => {
    const before = previous.get(worker.index);
    let percent: number | null = null;
    if (worker.cpuMs !== null) {
      if (before && before.pid === worker.pid && at > before.at && worker.cpuMs >= before.cpuMs) {
        percent = Math.round(((worker.cpuMs - before.cpuMs) / (at - before.at)) * 1000) / 10;
      }
      previous.set(worker.index, { pid: worker.pid, cpuMs: worker.cpuMs, at });
    }
    return { index: worker.index, percent };
  });
  return {
    at,
    active: status.connections.active,
    waiting: status.waiting,
    paired: status.connections.paired,
    matchesPerMinute: status.experience.matchesPerMinute,
    waitP95Ms: status.matching.waitMs.p95,
    quality: { ...status.networkHealth.qualityDistribution },
    layers: { spatial: [...status.consumerLayers.spatial], none: status.consumerLayers.none },
    workerCpu,
  };
}

export type StatusHistoryOptions = {
  /** The /status document, exactly as `GET /status` builds it. */
  read: () => Promise<Status>;
  now: () => number;
  logger: Logger;
  intervalMs?: number;
  windowMs?: number;
};

/**
 * The last 15 minutes of /status, sampled every few seconds into a bounded ring, for the admin
 * page's charts: no outside service, and the charts show what /status said.
 */
export class StatusHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly #options: StatusHistoryOptions;
  readonly #capacity: number;
  #points: HistoryPoint[] = [];
  readonly #cpu = new Map<number, CpuReading>();
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;

  constructor(options: StatusHistoryOptions) {
    this.#options = options;
    this.intervalMs = options.intervalMs ?? HISTORY_INTERVAL_MS;
    this.windowMs = options.windowMs ?? HISTORY_WINDOW_MS;
    this.#capacity = Math.ceil(this.windowMs / this.intervalMs) + 1;
  }

  /** Samples now and then every interval, until `close()`. */
  start(): void {
    if (this.#timer) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample (a slow one is skipped rather than stacked). Never throws. */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const status = await this.#options.read();
      this.#add(historyPoint(status, this.#options.now(), this.#cpu));
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'status sample for the admin charts failed');
    } finally {
      this.#sampling = false;
    }
  }

  /** Points newer than `since` (all kept ones without it), oldest first. */
  document(since?: number): StatusHistoryDocument {
    this.#prune();
    const points = since === undefined ? this.#points : this.#points.filter((point) => point.at > since);
    return { intervalMs: this.intervalMs, windowMs: this.windowMs, points: [...points] };
  }

  #add(point: HistoryPoint): void {
    this.#points.push(point);
    this.#prune();
  }

  #prune(): void {
    const oldest = this.#options.now() - this.windowMs;
    let drop = 0;
    while (drop < this.#points.length && (this.#points[drop]?.at ?? 0) < oldest) drop += 1;
    drop = Math.max(drop, this.#points.length - this.#capacity);
    if (drop > 0) this.#points = this.#points.slice(drop);
  }
}
