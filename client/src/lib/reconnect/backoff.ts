/** What a retry policy knows when asked for the next delay. */
export type RetryContext = {
  /** Retries already made since the last success (0 before the first retry). */
  retryCount: number;
};

/** Decides how long to wait before the next reconnection attempt; null means give up. */
export type RetryPolicy = {
  nextRetryDelayInMs(context: RetryContext): number | null;
};

export type BackoffOptions = {
  baseMs: number;
  capMs: number;
  maxRetries: number;
  /** Uniform random in [0, 1); injectable for tests. */
  random?: () => number;
};

/**
 * Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base·2ⁿ)].
 * Full jitter spreads a crowd of clients that lost the server at the same moment, so they do
 * not all come back in the same instant.
 */
export function fullJitterBackoff(options: BackoffOptions): RetryPolicy {
  const random = options.random ?? Math.random;
  return {
    nextRetryDelayInMs({ retryCount }) {
      if (retryCount >= options.maxRetries) return null;
      const ceiling = Math.min(options.capMs, options.baseMs * 2 ** retryCount);
      return Math.floor(random() * ceiling);
    },
  };
}

/** Meetopia's socket policy: base 1 s, cap 10 s, 10 attempts, then `failed`. */
export const socketRetryPolicy: RetryPolicy = fullJitterBackoff({ baseMs: 1000, capMs: 10_000, maxRetries: 10 });
