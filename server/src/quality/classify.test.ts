import { describe, expect, it } from 'vitest';
import { classifyQuality } from './classify.js';

describe('classifyQuality()', () => {
  it('is unknown without any measurement', () => {
    expect(classifyQuality(null, null)).toBe('unknown');
    expect(classifyQuality({}, null)).toBe('unknown');
  });

  it('is good on a clean, fast network', () => {
    expect(classifyQuality({ rttMs: 40, packetLoss: 0, jitterMs: 5 }, 30)).toBe('good');
  });

  it('takes the worst metric', () => {
    expect(classifyQuality({ rttMs: 40, packetLoss: 0.05, jitterMs: 5 }, null)).toBe('fair');
    expect(classifyQuality({ rttMs: 40, packetLoss: 0, jitterMs: 200 }, null)).toBe('poor');
  });

  it('falls back to the signaling round trip when the media one is missing', () => {
    expect(classifyQuality({ packetLoss: 0 }, 500)).toBe('poor');
    expect(classifyQuality(null, 200)).toBe('fair');
  });

  it('prefers the media round trip over the signaling one', () => {
    expect(classifyQuality({ rttMs: 50 }, 900)).toBe('good');
  });
});
