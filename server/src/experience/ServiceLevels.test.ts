import { SERVICE_TARGETS } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { ServiceLevels } from './ServiceLevels.js';

function levelsWithClock() {
  const time = { now: 10_000_000 };
  return { time, levels: new ServiceLevels({ now: () => time.now }) };
}

describe('ServiceLevels', () => {
  it('reports nothing measured as nulls, with the targets', () => {
    const { levels } = levelsWithClock();
    const status = levels.status();
    expect(status.targets).toEqual(SERVICE_TARGETS);
    expect(status.matchesPerMinute).toBe(0);
    expect(status.last5m).toEqual({
      calls: 0,
      connect: { reports: 0, p50Ms: null, avgMs: null, p95Ms: null },
      reconnection: { reports: 0, recoveredInTime: 0, successShare: null, p50Ms: null },
      fallback: { fallbacks: 0, rate: null },
      turn: { callsWithPath: 0, relayed: 0, share: null },
      resumes: 0,
    });
  });

  it('connect p50 and average over each window; old reports leave the 5-minute window first', () => {
    const { time, levels } = levelsWithClock();
    levels.recordConnect(4000);
    levels.recordConnect(5000);
    time.now += 10 * 60_000;
    for (const ms of [400, 600, 800]) levels.recordConnect(ms);
    const { last5m, last1h } = levels.status();
    expect(last5m.connect).toEqual({ reports: 3, p50Ms: 600, avgMs: 600, p95Ms: 800 });
    expect(last1h.connect).toEqual({ reports: 5, p50Ms: 800, avgMs: 2160, p95Ms: 5000 });
    time.now += 60 * 60_000;
    expect(levels.status().last1h.connect.reports).toBe(0);
  });

  it('a reconnection succeeds when it recovered within 30 s; gave-up and slow ones do not', () => {
    const { levels } = levelsWithClock();
    levels.recordReconnection('recovered', 2000);
    levels.recordReconnection('recovered', 30_000);
    levels.recordReconnection('recovered', 45_000);
    levels.recordReconnection('gave-up', 10_000);
    const { reconnection } = levels.status().last5m;
    expect(reconnection).toEqual({ reports: 4, recoveredInTime: 2, successShare: 0.5, p50Ms: 30_000 });
  });

  it('counts two calls per match; only failed media counts as a fallback; TURN share over calls with a path', () => {
    const { time, levels } = levelsWithClock();
    for (let i = 0; i < 5; i += 1) levels.recordMatch();
    levels.recordFallback('media-failed');
    levels.recordFallback('no-camera');
    levels.recordFallback('permission-denied');
    levels.recordPath(true);
    levels.recordPath(false);
    levels.recordPath(false);
    levels.recordPath(false);
    levels.recordResume();
    const status = levels.status();
    expect(status.matchesPerMinute).toBe(5);
    expect(status.last5m.calls).toBe(10);
    expect(status.last5m.fallback).toEqual({ fallbacks: 1, rate: 0.1 });
    expect(status.last5m.turn).toEqual({ callsWithPath: 4, relayed: 1, share: 0.25 });
    expect(status.last5m.resumes).toBe(1);
    time.now += 61_000;
    expect(levels.status().matchesPerMinute).toBe(0);
    expect(levels.status().last5m.calls).toBe(10);
  });
});
