import { describe, expect, it } from 'vitest';
import { fullJitterBackoff } from './backoff.js';

describe('fullJitterBackoff', () => {
  describe('nextRetryDelayInMs()', () => {
    it('draws each delay uniformly below min(cap, base·2ⁿ)', () => {
      const top = fullJitterBackoff({ baseMs: 1000, capMs: 10_000, maxRetries: 10, random: () => 0.999999 });
      const ceilings = Array.from({ length: 10 }, (_, retryCount) => top.nextRetryDelayInMs({ retryCount }));
      expect(ceilings).toEqual([999, 1999, 3999, 7999, 9999, 9999, 9999, 9999, 9999, 9999]);
      const bottom = fullJitterBackoff({ baseMs: 1000, capMs: 10_000, maxRetries: 10, random: () => 0 });
      expect(bottom.nextRetryDelayInMs({ retryCount: 5 })).toBe(0);
    });

    it('gives up after the last attempt', () => {
      const policy = fullJitterBackoff({ baseMs: 1000, capMs: 10_000, maxRetries: 10 });
      expect(policy.nextRetryDelayInMs({ retryCount: 9 })).not.toBeNull();
      expect(policy.nextRetryDelayInMs({ retryCount: 10 })).toBeNull();
    });

    it('spreads clients out (full jitter, not equal delays)', () => {
      const policy = fullJitterBackoff({ baseMs: 1000, capMs: 10_000, maxRetries: 10 });
      const delays = new Set(Array.from({ length: 50 }, () => policy.nextRetryDelayInMs({ retryCount: 3 })));
      expect(delays.size).toBeGreaterThan(25);
    });
  });
});
