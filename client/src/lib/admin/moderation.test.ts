import { describe, expect, it } from 'vitest';
import {
  checkBan,
  checkUnbanReason,
  describeDuration,
  describeTimeLeft,
  formatDurations,
  fromSafetyForm,
  parseDurations,
  toSafetyForm,
} from './moderation.js';

const settings = {
  reportThreshold: 3,
  reportWindowMs: 3_600_000,
  banDurationsMs: [3_600_000, 86_400_000, 7 * 86_400_000],
  reportsPerHour: 10,
  retentionDays: 30,
  rules: 'Be kind.',
};

describe('durations', () => {
  it('reads and writes ban lengths as people type them', () => {
    expect(formatDurations(settings.banDurationsMs)).toBe('1h, 24h, 7d');
    expect(parseDurations('1h, 24h, 7d')).toEqual(settings.banDurationsMs);
    expect(parseDurations('30min 90s 2m')).toEqual([1_800_000, 90_000, 120_000]);
    expect(parseDurations('1 hour')).toBeNull();
    expect(parseDurations('')).toBeNull();
  });

  it('says time left in two units at most', () => {
    expect(describeDuration(3_723_000)).toBe('1 h 2 min');
    expect(describeDuration(90_061_000)).toBe('1 d 1 h');
    expect(describeDuration(45_000)).toBe('45 s');
    expect(describeTimeLeft(1000 + 3_600_000, 1000)).toBe('1 h left');
    expect(describeTimeLeft(500, 1000)).toBe('expired');
  });
});

describe('the safety form', () => {
  it('gives back exactly the settings it was made from', () => {
    expect(fromSafetyForm(toSafetyForm(settings))).toEqual({ ok: true, value: settings });
  });

  it('refuses what the server would refuse, with a sentence', () => {
    const form = { ...toSafetyForm(settings), reportThreshold: 0 };
    const result = fromSafetyForm(form);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/reportThreshold/);
    const unreadable = fromSafetyForm({ ...toSafetyForm(settings), banDurations: 'forever' });
    expect(unreadable).toMatchObject({ ok: false, error: expect.stringMatching(/ban lengths/) });
    const empty = fromSafetyForm({ ...toSafetyForm(settings), rules: '   ' });
    expect(empty.ok).toBe(false);
  });
});

describe('bans by hand', () => {
  it('needs a target, a reason and a sensible length', () => {
    expect(checkBan({ device: 'abc', address: '', durationMs: 3_600_000, reason: 'spam' })).toEqual({
      ok: true,
      value: { target: { device: 'abc', address: null }, durationMs: 3_600_000, reason: 'spam' },
    });
    expect(checkBan({ device: ' ', address: '', durationMs: 3_600_000, reason: 'spam' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/name a device or an address/),
    });
    expect(checkBan({ device: 'abc', address: '', durationMs: 3_600_000, reason: '  ' }).ok).toBe(false);
    expect(checkBan({ device: 'abc', address: '', durationMs: 1000, reason: 'spam' }).ok).toBe(false);
    expect(checkUnbanReason('')).toMatchObject({ ok: false });
    expect(checkUnbanReason(' appeal accepted ')).toEqual({ ok: true, value: 'appeal accepted' });
  });
});
