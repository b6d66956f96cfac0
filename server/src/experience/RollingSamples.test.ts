import { describe, expect, it } from 'vitest';
import { mean, percentile, RollingSamples, ratio } from './RollingSamples.js';

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('RollingSamples', () => {
  it('within() gives the samples of the last window, oldest first', () => {
    const { time, now } = clock();
    const samples = new RollingSamples<number>({ now, maxAgeMs: 60_000, capacity: 100 });
    samples.add(1);
    time.now += 10_000;
    samples.add(2);
    time.now += 10_000;
    samples.add(3);
    expect(samples.within(60_000)).toEqual([1, 2, 3]);
    expect(samples.within(15_000)).toEqual([2, 3]);
    expect(samples.within(5_000)).toEqual([3]);
    expect([60_000, 15_000, 5_000, 0].map((ms) => samples.countWithin(ms))).toEqual([3, 2, 1, 0]);
  });

  it('drops samples older than maxAgeMs as the clock moves on', () => {
    const { time, now } = clock();
    const samples = new RollingSamples<number>({ now, maxAgeMs: 60_000, capacity: 100 });
    samples.add(1);
    time.now += 30_000;
    samples.add(2);
    time.now += 30_000;
    expect(samples.within(3_600_000)).toEqual([2]);
    time.now += 30_000;
    expect(samples.size).toBe(0);
  });

  it('never keeps more than its capacity, dropping the oldest first', () => {
    const { time, now } = clock();
    const samples = new RollingSamples<number>({ now, maxAgeMs: 3_600_000, capacity: 1000 });
    for (let i = 0; i < 5000; i += 1) {
      samples.add(i);
      time.now += 1;
    }
    expect(samples.size).toBe(1000);
    const kept = samples.within(3_600_000);
    expect(kept[0]).toBe(4000);
    expect(kept.at(-1)).toBe(4999);
  });
});

describe('percentile, mean and ratio', () => {
  it('percentile is the nearest rank of sorted values', () => {
    const values = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
    expect(percentile(values, 0.5)).toBe(500);
    expect(percentile(values, 0.95)).toBe(1000);
    expect(percentile(values, 0)).toBe(100);
    expect(percentile([42], 0.5)).toBe(42);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('mean rounds, ratio is null without a whole', () => {
    expect(mean([1000, 2000, 2500])).toBe(1833);
    expect(mean([])).toBeNull();
    expect(ratio(1, 3)).toBe(0.333);
    expect(ratio(0, 0)).toBeNull();
  });
});
