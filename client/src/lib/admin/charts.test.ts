import type { HistoryPoint } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { chartSpecs, describeLatest, mergeHistory } from './charts.js';

function point(at: number, overrides: Partial<HistoryPoint> = {}): HistoryPoint {
  return {
    at,
    active: 4,
    waiting: 1,
    paired: 2,
    matchesPerMinute: 3,
    waitP95Ms: 1500,
    quality: { good: 2, fair: 1, poor: 0 },
    layers: { spatial: [0, 1, 1], none: 0 },
    workerCpu: [
      { index: 0, percent: 12.5 },
      { index: 1, percent: null },
    ],
    ...overrides,
  };
}

describe('chartSpecs', () => {
  it("draws each sample's /status figures at its time, in seconds", () => {
    const specs = chartSpecs([point(10_000), point(15_000, { active: 6, waitP95Ms: null })]);
    const byId = Object.fromEntries(specs.map((spec) => [spec.id, spec]));
    expect(specs.map((spec) => spec.id)).toEqual(['users', 'matches', 'wait', 'quality', 'layers', 'cpu']);
    expect(byId.users?.data).toEqual([
      [10, 15],
      [4, 6],
      [1, 1],
      [2, 2],
    ]);
    expect(byId.matches?.data).toEqual([
      [10, 15],
      [3, 3],
    ]);
    expect(byId.wait?.data[1]).toEqual([1.5, null]);
    expect(byId.quality?.series.map((s) => s.label)).toEqual(['Good', 'Fair', 'Poor']);
    expect(byId.layers?.series.map((s) => s.label)).toEqual(['Low', 'Middle', 'High', 'None']);
    expect(byId.layers?.data.slice(1)).toEqual([
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    expect(byId.cpu?.series.map((s) => s.label)).toEqual(['Worker 0', 'Worker 1']);
    expect(byId.cpu?.data.slice(1)).toEqual([
      [12.5, 12.5],
      [null, null],
    ]);
  });

  it('gives empty series without samples', () => {
    for (const spec of chartSpecs([])) expect(spec.data[0]).toEqual([]);
  });

  it('says the latest values in words', () => {
    const [users] = chartSpecs([point(1000)]);
    if (!users) throw new Error('no chart');
    expect(describeLatest(users)).toBe('Users, latest: Active 4 users, Waiting 1 users, Paired 2 users.');
  });
});

describe('mergeHistory', () => {
  it('appends only newer samples and keeps the window before the newest one', () => {
    const kept = [point(1000), point(6000)];
    const merged = mergeHistory(kept, [point(6000), point(11_000), point(16_000)], 10_000);
    expect(merged.map((p) => p.at)).toEqual([6000, 11_000, 16_000]);
  });
});
