import type { QualityClass, QualityReport } from '@meetopia/protocol';

/** Upper bounds of each class, per metric. Above `fair` it is `poor`. */
export const QUALITY_THRESHOLDS = {
  rttMs: { good: 150, fair: 400 },
  packetLoss: { good: 0.02, fair: 0.08 },
  jitterMs: { good: 30, fair: 80 },
} as const;

const rank: Record<Exclude<QualityClass, 'unknown'>, number> = { good: 0, fair: 1, poor: 2 };

/**
 * A user's network class: the worst of round trip, loss and jitter. The round trip is the
 * media path's (from the browser's ICE stats) when reported, else the signaling socket's.
 */
export function classifyQuality(report: QualityReport | null, socketRttMs: number | null): QualityClass {
  const rttMs = report?.rttMs ?? socketRttMs ?? undefined;
  const metrics: Array<[keyof typeof QUALITY_THRESHOLDS, number | undefined]> = [
    ['rttMs', rttMs],
    ['packetLoss', report?.packetLoss],
    ['jitterMs', report?.jitterMs],
  ];
  let worst: QualityClass = 'unknown';
  for (const [name, value] of metrics) {
    if (value === undefined) continue;
    const { good, fair } = QUALITY_THRESHOLDS[name];
    const verdict = value <= good ? 'good' : value <= fair ? 'fair' : 'poor';
    if (worst === 'unknown' || rank[verdict] > rank[worst]) worst = verdict;
  }
  return worst;
}
