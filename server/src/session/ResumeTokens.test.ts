import { describe, expect, it } from 'vitest';
import { ResumeTokens } from './ResumeTokens.js';

describe('ResumeTokens', () => {
  it('redeems a token once for its own session', () => {
    const tokens = new ResumeTokens();
    const token = tokens.issue('s1');
    expect(tokens.redeem(token)).toBe('s1');
    expect(tokens.redeem(token)).toBeNull();
  });

  it('refuses a forged token', () => {
    const tokens = new ResumeTokens();
    tokens.issue('s1');
    expect(tokens.redeem('forged-token')).toBeNull();
  });

  it('revokes the previous token when a new one is issued', () => {
    const tokens = new ResumeTokens();
    const first = tokens.issue('s1');
    const second = tokens.issue('s1');
    expect(tokens.redeem(first)).toBeNull();
    expect(tokens.redeem(second)).toBe('s1');
  });

  it('a revoked (expired) session token is refused', () => {
    const tokens = new ResumeTokens();
    const token = tokens.issue('s1');
    tokens.revoke('s1');
    expect(tokens.redeem(token)).toBeNull();
    expect(tokens.size).toBe(0);
  });

  it('tokens of different sessions do not cross', () => {
    const tokens = new ResumeTokens();
    const a = tokens.issue('a');
    const b = tokens.issue('b');
    expect(a).not.toBe(b);
    expect(tokens.redeem(b)).toBe('b');
    expect(tokens.redeem(a)).toBe('a');
  });
});
