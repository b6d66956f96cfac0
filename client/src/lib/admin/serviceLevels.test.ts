import { type ExperienceWindow, SERVICE_TARGETS } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { serviceRows } from './serviceLevels.js';

const empty: ExperienceWindow = {
  calls: 0,
  connect: { reports: 0, p50Ms: null, avgMs: null, p95Ms: null },
  reconnection: { reports: 0, recoveredInTime: 0, successShare: null, p50Ms: null },
  fallback: { fallbacks: 0, rate: null },
  turn: { callsWithPath: 0, relayed: 0, share: null },
  resumes: 0,
};

describe('serviceRows', () => {
  it('judges each figure against its target, per window', () => {
    const good: ExperienceWindow = {
      calls: 40,
      connect: { reports: 20, p50Ms: 900, avgMs: 1200, p95Ms: 2500 },
      reconnection: { reports: 20, recoveredInTime: 20, successShare: 1, p50Ms: 2000 },
      fallback: { fallbacks: 1, rate: 0.025 },
      turn: { callsWithPath: 40, relayed: 2, share: 0.05 },
      resumes: 3,
    };
    const bad: ExperienceWindow = {
      calls: 40,
      connect: { reports: 20, p50Ms: 2000, avgMs: 3000, p95Ms: 9000 },
      reconnection: { reports: 20, recoveredInTime: 19, successShare: 0.95, p50Ms: 2000 },
      fallback: { fallbacks: 4, rate: 0.1 },
      turn: { callsWithPath: 40, relayed: 8, share: 0.2 },
      resumes: 3,
    };
    const rows = serviceRows({ targets: SERVICE_TARGETS, matchesPerMinute: 2, last5m: bad, last1h: good });
    const verdicts = Object.fromEntries(rows.map((row) => [row.id, row.cells.map((cell) => cell.verdict)]));
    expect(verdicts).toEqual({
      'connect-p50': ['ok', 'ok'],
      // 3 s average is not under 3 s; exactly 95 % is not over 95 %.
      'connect-avg': ['miss', 'ok'],
      reconnection: ['miss', 'ok'],
      fallback: ['miss', 'ok'],
      turn: ['miss', 'ok'],
    });
    const connect = rows.find((row) => row.id === 'connect-avg');
    expect(connect?.target).toBe('under 3.00 s');
    expect(connect?.cells[1]).toMatchObject({ value: '1.20 s', basis: '20 calls' });
    expect(rows.find((row) => row.id === 'reconnection')?.cells[0]?.value).toBe('95 %');
  });

  it('shows "no data" rather than a verdict when nothing was measured', () => {
    const rows = serviceRows({ targets: SERVICE_TARGETS, matchesPerMinute: 0, last5m: empty, last1h: empty });
    for (const row of rows) {
      for (const cell of row.cells) expect(cell).toMatchObject({ value: 'no data', verdict: 'none' });
    }
  });
});
