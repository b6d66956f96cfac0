import type { MatchingStatus } from '@meetopia/protocol';
import { OPTIMAL_SCORE } from './score.js';

/** One formed pair, as the statistics keep it. */
type MatchRecord = { at: number; score: number; sharedInterest: boolean; sameCountry: boolean; waitedMs: number[] };

/** Score ranges of the distribution in /status (the same edges as the /metrics histogram). */
export const SCORE_EDGES = [0, 30, 60, 100] as const;
/** Countries listed one by one in /status and /metrics; the rest are summed as "other". */
const TOP_COUNTRIES = 20;

/**
 * Figures about recent matches for /status: the score distribution, the share with a shared
 * interest and with the same country, match wait percentiles. Kept over the last hour, at most
 * `capacity` matches (a bounded ring, whatever the traffic).
 */
export class MatchStats {
  readonly #records: MatchRecord[] = [];
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(options: { now: () => number; capacity?: number; windowMs?: number }) {
    this.#now = options.now;
    this.#capacity = options.capacity ?? 2000;
    this.#windowMs = options.windowMs ?? 3_600_000;
  }

  record(match: Omit<MatchRecord, 'at'>): void {
    this.#records.push({ ...match, at: this.#now() });
    if (this.#records.length > this.#capacity) this.#records.splice(0, this.#records.length - this.#capacity);
  }

  /** The `matching` block of /status. */
  status(waitingByCountry: ReadonlyMap<string | null, number>): MatchingStatus {
    const since = this.#now() - this.#windowMs;
    const recent = this.#records.filter((record) => record.at >= since);
    const share = (test: (record: MatchRecord) => boolean) =>
      recent.length === 0 ? null : round(recent.filter(test).length / recent.length);
    const waits = recent.flatMap((record) => record.waitedMs).sort((a, b) => a - b);
    return {
      windowMatches: recent.length,
      waitingByCountry: countryRows(waitingByCountry),
      scoreDistribution: scoreRanges().map(({ range, min, max }) => ({
        range,
        matches: recent.filter((record) => record.score >= min && record.score < max).length,
      })),
      sharedInterestShare: share((record) => record.sharedInterest),
      sameCountryShare: share((record) => record.sameCountry),
      optimalShare: share((record) => record.score >= OPTIMAL_SCORE),
      waitMs: { p50: percentile(waits, 0.5), p95: percentile(waits, 0.95) },
    };
  }
}

/** Waiting users per country: the top 20, then "other" and "unknown" (bounded for /metrics labels). */
export function countryRows(counts: ReadonlyMap<string | null, number>): Array<{ country: string; waiting: number }> {
  const known = [...counts].filter((entry): entry is [string, number] => entry[0] !== null);
  known.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const rows = known.slice(0, TOP_COUNTRIES).map(([country, waiting]) => ({ country, waiting }));
  const other = known.slice(TOP_COUNTRIES).reduce((sum, [, waiting]) => sum + waiting, 0);
  if (other > 0) rows.push({ country: 'other', waiting: other });
  const unknown = counts.get(null) ?? 0;
  if (unknown > 0) rows.push({ country: 'unknown', waiting: unknown });
  return rows;
}

function scoreRanges(): Array<{ range: string; min: number; max: number }> {
  const ranges = [{ range: `<${SCORE_EDGES[0]}`, min: Number.NEGATIVE_INFINITY, max: SCORE_EDGES[0] as number }];
  for (let i = 0; i < SCORE_EDGES.length - 1; i += 1) {
    ranges.push({
      range: `${SCORE_EDGES[i]}-${SCORE_EDGES[i + 1]}`,
      min: SCORE_EDGES[i] ?? 0,
      max: SCORE_EDGES[i + 1] ?? 0,
    });
  }
  ranges.push({ range: `${SCORE_EDGES.at(-1)}+`, min: SCORE_EDGES.at(-1) ?? 100, max: Number.POSITIVE_INFINITY });
  return ranges;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? null;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
