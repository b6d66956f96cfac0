import { describe, expect, it } from 'vitest';
import { distinctReporterWeight, judgeReports, type ReportForPolicy, reporterWeight } from './BanPolicy.js';

const HOUR = 3_600_000;
const settings = { reportThreshold: 3, reportWindowMs: HOUR, banDurationsMs: [HOUR, 24 * HOUR, 7 * 24 * HOUR] };
const none = { previousBans: 0, lastBanAt: null };
const report = (device: string, address: string, at = 0, weight = 1): ReportForPolicy => ({
  at,
  reporterDevice: device,
  reporterAddress: address,
  weight,
});

describe('judgeReports()', () => {
  it('bans after three distinct reporters within the window, for an hour the first time', () => {
    const reports = [report('d1', 'a1', 10), report('d2', 'a2', 20)];
    expect(judgeReports(reports, settings, none, 100).ban).toBe(false);
    const verdict = judgeReports([...reports, report('d3', 'a3', 30)], settings, none, 100);
    expect(verdict).toMatchObject({ ban: true, durationMs: HOUR, level: 1 });
  });

  it('counts one reporter once however often they report, and the same device or address as the same reporter', () => {
    const sameDevice = [report('d1', 'a1'), report('d1', 'a2'), report('d1', 'a3')];
    expect(judgeReports(sameDevice, settings, none, 1).ban).toBe(false);
    const sameAddress = [report('d1', 'home'), report('d2', 'home'), report('d3', 'home')];
    expect(judgeReports(sameAddress, settings, none, 1).ban).toBe(false);
    // A chain: d1/a1 and d1/a2 and d2/a2 are all one reporter.
    expect(distinctReporterWeight([report('d1', 'a1'), report('d1', 'a2'), report('d2', 'a2')])).toBe(1);
  });

  it('ignores reports older than the window and those before the last ban', () => {
    const reports = [report('d1', 'a1', 0), report('d2', 'a2', 2 * HOUR), report('d3', 'a3', 2 * HOUR + 1)];
    expect(judgeReports(reports, settings, none, 2 * HOUR + 10).ban).toBe(false);
    const recent = [report('d1', 'a1', 100), report('d2', 'a2', 200), report('d3', 'a3', 300)];
    expect(judgeReports(recent, settings, { previousBans: 1, lastBanAt: 250 }, 400).ban).toBe(false);
  });

  it('escalates: a day the second time, a week the third and after', () => {
    const three = [report('d1', 'a1', 10), report('d2', 'a2', 20), report('d3', 'a3', 30)];
    expect(judgeReports(three, settings, { previousBans: 1, lastBanAt: 0 }, 100)).toMatchObject({
      durationMs: 24 * HOUR,
      level: 2,
    });
    expect(judgeReports(three, settings, { previousBans: 5, lastBanAt: 0 }, 100)).toMatchObject({
      durationMs: 7 * 24 * HOUR,
      level: 6,
    });
  });

  it('needs more reporters when they report nearly everyone', () => {
    const serial = [report('d1', 'a1', 1, 0.3), report('d2', 'a2', 2, 0.3), report('d3', 'a3', 3, 0.3)];
    expect(judgeReports(serial, settings, none, 10).ban).toBe(false);
  });
});

describe('reporterWeight()', () => {
  it('counts a few reports fully', () => {
    expect(reporterWeight(0, 0)).toBe(1);
    expect(reporterWeight(2, 2)).toBe(1);
  });

  it('counts a reporter who reports most people they meet for less, never below the floor', () => {
    expect(reporterWeight(3, 40)).toBe(1);
    expect(reporterWeight(10, 12)).toBeLessThan(0.5);
    expect(reporterWeight(100, 100)).toBeGreaterThanOrEqual(0.2);
  });
});
