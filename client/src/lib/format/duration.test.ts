import { describe, expect, it } from 'vitest';
import { formatDuration } from './duration.js';

const units = { days: 'd', hours: 'h', minutes: 'min', seconds: 's' };
const s = 1000;
const min = 60 * s;
const h = 60 * min;

describe('formatDuration()', () => {
  it.each([
    [0, '0 s'],
    [1, '1 s'],
    [4_200, '5 s'],
    [59 * s, '59 s'],
    [59 * s + 1, '1 min'],
    [4 * min + 5 * s, '4 min 5 s'],
    [h, '1 h 0 min'],
    [24 * h - 1, '23 h 59 min'],
    [24 * h, '24 h 0 min'],
    [47 * h + 59 * min, '47 h 59 min'],
    [7 * 24 * h - 1, '6 d 23 h'],
    [-5_000, '0 s'],
  ])('%i ms reads "%s"', (ms, expected) => {
    expect(formatDuration(ms, units)).toBe(expected);
  });

  it('uses the units it is given', () => {
    expect(formatDuration(3 * h + 2 * min, { days: 'T', hours: 'Std.', minutes: 'Min.', seconds: 'Sek.' })).toBe(
      '3 Std. 2 Min.',
    );
  });
});
