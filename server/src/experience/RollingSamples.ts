/**
 * Values with the time they were taken, kept for `maxAgeMs` and at most `capacity` of them (the
 * oldest go first), whatever the traffic. Times come from the injected clock and never go back,
 * so a window is found by binary search and read as one slice.
 */
export class RollingSamples<T> {
  /** Sample times and values, oldest first; entries before `#head` are dropped, not yet compacted. */
  #at: number[] = [];
  #values: T[] = [];
  #head = 0;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #capacity: number;

  constructor(options: { now: () => number; maxAgeMs: number; capacity: number }) {
    this.#now = options.now;
    this.#maxAgeMs = options.maxAgeMs;
    this.#capacity = options.capacity;
  }

  add(value: T): void {
    this.#at.push(this.#now());
    this.#values.push(value);
    this.#prune();
  }

  /** Values taken within the last `windowMs` (at most `maxAgeMs`), oldest first. */
  within(windowMs: number): T[] {
    this.#prune();
    return this.#values.slice(this.#firstWithin(windowMs));
  }

  /** How many values were taken within the last `windowMs`. */
  countWithin(windowMs: number): number {
    this.#prune();
    return this.#at.length - this.#firstWithin(windowMs);
  }

  /** How many samples are kept now. */
  get size(): number {
    this.#prune();
    return this.#at.length - this.#head;
  }

  /** Index of the first sample newer than `windowMs` ago. */
  #firstWithin(windowMs: number): number {
    const since = this.#now() - windowMs;
    let low = this.#head;
    let high = this.#at.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#at[middle] ?? 0) > since) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  #prune(): void {
    const firstKept = Math.max(this.#firstWithin(this.#maxAgeMs), this.#at.length - this.#capacity);
    this.#head = Math.max(this.#head, firstKept);
    // Compact once the dropped part is the larger half: amortised O(1) per sample.
    if (this.#head > 1024 && this.#head * 2 > this.#at.length) {
      this.#at = this.#at.slice(this.#head);
      this.#values = this.#values.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Nearest-rank percentile of sorted values (`p` in 0..1); null when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Arithmetic mean, rounded to whole units; null when there are no values. */
export function mean(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i] ?? 0;
  return Math.round(sum / values.length);
}

/** A share rounded to 0.001; null when nothing was counted. */
export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 1000;
}
