import type { Status } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { ServiceLevels } from '../experience/ServiceLevels.js';
import { createLogger } from '../logger.js';
import { type CpuReading, historyPoint, StatusHistory } from './history.js';

function status(overrides: { cpuMs?: number; pid?: number; active?: number } = {}): Status {
  return {
    status: 'ok',
    uptimeSeconds: 10,
    connections: { active: overrides.active ?? 3, standby: 1, reconnecting: 0, paired: 2 },
    waiting: 1,
    pairs: 1,
    workers: [{ index: 0, pid: overrides.pid ?? 100, sessions: 3, cpuMs: overrides.cpuMs ?? 1000, maxRssKiB: 50_000 }],
    networkHealth: { avgLatency: 12, qualityDistribution: { good: 2, fair: 1, poor: 0 } },
    consumerLayers: { spatial: [0, 1, 1], none: 0 },
    matching: {
      windowMatches: 1,
      waitingByCountry: [],
      scoreDistribution: [],
      sharedInterestShare: null,
      sameCountryShare: null,
      optimalShare: null,
      waitMs: { p50: 300, p95: 900 },
    },
    experience: { ...new ServiceLevels({ now: () => 0 }).status(), matchesPerMinute: 4 },
    cluster: { store: 'local', self: null, connected: true, leader: null, instances: [] },
  };
}

describe('historyPoint', () => {
  it('takes the charted figures straight from /status', () => {
    const point = historyPoint(status(), 5000, new Map());
    expect(point).toEqual({
      at: 5000,
      active: 3,
      waiting: 1,
      paired: 2,
      matchesPerMinute: 4,
      waitP95Ms: 900,
      quality: { good: 2, fair: 1, poor: 0 },
      layers: { spatial: [0, 1, 1], none: 0 },
      workerCpu: [{ index: 0, percent: null }],
    });
  });

  it('worker CPU is the share of one core since the last sample, and unknown for a replaced worker', () => {
    const previous = new Map<number, CpuReading>();
    historyPoint(status({ cpuMs: 1000 }), 10_000, previous);
    expect(historyPoint(status({ cpuMs: 2250 }), 15_000, previous).workerCpu).toEqual([{ index: 0, percent: 25 }]);
    // A new process (new pid) starts its counter again: no figure for that interval.
    expect(historyPoint(status({ cpuMs: 10, pid: 200 }), 20_000, previous).workerCpu).toEqual([
      { index: 0, percent: null },
    ]);
    expect(historyPoint(status({ cpuMs: 5010, pid: 200 }), 25_000, previous).workerCpu).toEqual([
      { index: 0, percent: 100 },
    ]);
  });
});

describe('StatusHistory', () => {
  it('keeps 15 minutes of samples and no more, and gives the newer ones on request', async () => {
    const time = { now: 1_000_000 };
    let active = 0;
    const history = new StatusHistory({
      read: async () => status({ active: active++ }),
      now: () => time.now,
      logger: createLogger('silent'),
      intervalMs: 5000,
      windowMs: 15 * 60_000,
    });
    for (let i = 0; i < 400; i += 1) {
      await history.sample();
      time.now += 5000;
    }
    const { points, intervalMs, windowMs } = history.document();
    expect(intervalMs).toBe(5000);
    expect(windowMs).toBe(900_000);
    expect(points.length).toBeLessThanOrEqual(181);
    expect(points.length).toBeGreaterThanOrEqual(180);
    expect(points.at(-1)?.active).toBe(399);
    expect(time.now - (points[0]?.at ?? 0)).toBeLessThanOrEqual(900_000);
    const last = points.at(-2)?.at ?? 0;
    expect(history.document(last).points.map((point) => point.active)).toEqual([399]);
  });

  it('a failing read is logged and skipped, never thrown', async () => {
    const history = new StatusHistory({
      read: () => Promise.reject(new Error('worker gone')),
      now: () => 1,
      logger: createLogger('silent'),
    });
    await expect(history.sample()).resolves.toBeUndefined();
    expect(history.document().points).toEqual([]);
  });
});
