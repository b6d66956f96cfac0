import { describe, expect, it } from 'vitest';
import { FloodLimits } from './FloodLimits.js';

describe('FloodLimits', () => {
  it('lets Start/Next through at a human pace and answers a burst with slow-down and the wait', async () => {
    const limits = new FloodLimits({ skipsPerWindow: 3, skipWindowMs: 10_000 });
    for (let i = 0; i < 3; i += 1) await limits.skip('s1');
    await expect(limits.skip('s1')).rejects.toMatchObject({ code: 'rate-limited', retryAfterMs: expect.any(Number) });
    // Another session is not affected.
    await expect(limits.skip('s2')).resolves.toBeUndefined();
  });

  it('refuses the same line a third time within a minute, whatever the case or spacing', () => {
    const limits = new FloodLimits({ skipsPerWindow: 3, skipWindowMs: 10_000 });
    limits.chat('s1', 'Hello there', 0);
    limits.chat('s1', 'hello  there', 1000);
    expect(() => limits.chat('s1', 'HELLO THERE', 2000)).toThrow(expect.objectContaining({ code: 'spam' }));
    limits.chat('s1', 'something else', 3000);
    limits.chat('s1', 'hello there', 62_000);
  });

  it('allows a few links a minute, then refuses more', () => {
    const limits = new FloodLimits({ skipsPerWindow: 3, skipWindowMs: 10_000 });
    limits.chat('s1', 'see https://example.com/a', 0);
    limits.chat('s1', 'or www.example.org', 1);
    limits.chat('s1', 'and example.net', 2);
    expect(() => limits.chat('s1', 'last http://x.example.com', 3)).toThrow(expect.objectContaining({ code: 'spam' }));
    limits.chat('s1', 'no link here', 4);
    limits.chat('s1', 'https://example.com/later', 61_000);
  });
});
