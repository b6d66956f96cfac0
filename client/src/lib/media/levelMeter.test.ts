import { describe, expect, it } from 'vitest';
import { levelOf } from './levelMeter.js';

describe('levelOf()', () => {
  it('reads silence as 0', () => {
    expect(levelOf(new Float32Array(512))).toBe(0);
    expect(levelOf(new Float32Array(0))).toBe(0);
  });

  it('reads a full-scale signal as 1', () => {
    expect(levelOf(new Float32Array(512).fill(1))).toBeCloseTo(1);
  });

  it('maps loudness on a decibel scale (-30 dBFS is half way)', () => {
    const amplitude = 10 ** (-30 / 20);
    expect(levelOf(new Float32Array(512).fill(amplitude))).toBeCloseTo(0.5);
  });

  it('reads anything under -60 dBFS as 0', () => {
    expect(levelOf(new Float32Array(512).fill(1e-4))).toBe(0);
  });
});
