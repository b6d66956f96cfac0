import { describe, expect, it } from 'vitest';
import { ExperienceBounds } from './ExperienceBounds.js';

function setup() {
  const time = { now: 50_000_000 };
  const bounds = new ExperienceBounds({ now: () => time.now });
  return { time, bounds };
}

const call = (pairId: string, firstFrameMs: number) => ({ kind: 'call' as const, pairId, firstFrameMs });
const recovered = (durationMs: number) => ({
  kind: 'reconnection' as const,
  outcome: 'recovered' as const,
  durationMs,
});

describe('ExperienceBounds.admitCall', () => {
  it('admits one call report for the current pair, and refuses the same pair again', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    bounds.matched('p1', ['alice', 'bob']);
    time.now += 1000;
    expect(bounds.admitCall('alice', call('p1', 2400), { current: 'p1', last: null })).toEqual({ ok: true });
    expect(bounds.admitCall('alice', call('p1', 2400), { current: 'p1', last: null })).toMatchObject({
      ok: false,
      reason: 'duplicate',
    });
  });

  it("refuses a pair id that is not the session's current or last conversation", () => {
    const { bounds } = setup();
    bounds.matched('p1', ['alice', 'bob']);
    bounds.matched('p2', ['carol', 'dave']);
    // Someone else's real pair, and a made-up one.
    expect(bounds.admitCall('alice', call('p2', 100), { current: 'p1', last: null })).toMatchObject({
      reason: 'unknown-pair',
    });
    expect(bounds.admitCall('alice', call('forged', 100), { current: 'p1', last: null })).toMatchObject({
      reason: 'unknown-pair',
    });
    // Claiming another session's pair as one's own "current" does not help: it has no wait recorded for us.
    expect(bounds.admitCall('alice', call('p2', 100), { current: 'p2', last: null })).toMatchObject({
      reason: 'late',
    });
  });

  it('admits the last conversation after it ended, once', () => {
    const { bounds } = setup();
    bounds.matched('p1', ['alice', 'bob']);
    expect(bounds.admitCall('alice', call('p1', 10), { current: null, last: 'p1' })).toEqual({ ok: true });
    expect(bounds.admitCall('alice', call('p1', 10), { current: null, last: 'p1' }).ok).toBe(false);
  });

  it('refuses a first frame longer than the time since the previous match (or the session opened)', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    bounds.opened('bob');
    time.now += 3000;
    bounds.matched('p1', ['alice', 'bob']);
    time.now += 2000;
    // Opened 5 s ago, plus 2 s leeway: 7 s at most.
    expect(bounds.admitCall('alice', call('p1', 60_000), { current: 'p1', last: null })).toMatchObject({
      reason: 'implausible',
    });
    expect(bounds.admitCall('alice', call('p1', 6500), { current: 'p1', last: null })).toEqual({ ok: true });
    // The next call of bob's was clicked after p1 was formed: 10 s ago at most, not since his session opened.
    time.now += 8000;
    bounds.matched('p2', ['bob', 'carol']);
    expect(bounds.admitCall('bob', call('p2', 12_500), { current: 'p2', last: 'p1' })).toMatchObject({
      reason: 'implausible',
    });
    expect(bounds.admitCall('bob', call('p2', 9000), { current: 'p2', last: 'p1' })).toEqual({ ok: true });
  });

  it('refuses a call after the retention time, and keeps only the current and last pair of each session', () => {
    const time = { now: 0 };
    const bounds = new ExperienceBounds({ now: () => time.now, pairRetentionMs: 60_000 });
    for (let i = 0; i < 1000; i += 1) {
      bounds.opened(`b${i}`);
      bounds.matched(`p${i}`, ['alice', `b${i}`]);
    }
    // Alice's 1,000 conversations: two remembered; each partner's one.
    expect(bounds.sizes).toEqual({ sessions: 1001, pairs: 1002 });
    expect(bounds.admitCall('alice', call('p998', 10), { current: 'p999', last: 'p998' })).toEqual({ ok: true });
    time.now += 61_000;
    expect(bounds.admitCall('alice', call('p999', 10), { current: 'p999', last: 'p998' })).toMatchObject({
      reason: 'late',
    });
    for (let i = 0; i < 1000; i += 1) bounds.forget(`b${i}`);
    expect(bounds.sizes).toEqual({ sessions: 1, pairs: 2 });
  });
});

describe('ExperienceBounds.admitReconnection', () => {
  it('refuses a reconnection the server did not see', () => {
    const { bounds } = setup();
    bounds.opened('alice');
    expect(bounds.admitReconnection('alice', recovered(1000))).toMatchObject({ ok: false, reason: 'no-event' });
  });

  it('admits one report per reconnection the server saw', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    time.now += 60_000;
    bounds.event('alice', 'resume');
    expect(bounds.admitReconnection('alice', recovered(1200))).toEqual({ ok: true });
    expect(bounds.admitReconnection('alice', recovered(1200))).toMatchObject({ reason: 'no-event' });
    time.now += 60_000;
    bounds.event('alice', 'ice-restart');
    expect(bounds.admitReconnection('alice', { kind: 'reconnection', outcome: 'gave-up', durationMs: 20_000 })).toEqual(
      {
        ok: true,
      },
    );
  });

  it('events close together are one reconnection (a resume, then ICE restarts of both transports)', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    time.now += 60_000;
    bounds.event('alice', 'resume');
    time.now += 500;
    bounds.event('alice', 'ice-restart');
    time.now += 300;
    bounds.event('alice', 'ice-restart');
    expect(bounds.admitReconnection('alice', recovered(3000))).toEqual({ ok: true });
    expect(bounds.admitReconnection('alice', recovered(3000))).toMatchObject({ reason: 'no-event' });
  });

  it('an event expires when it is not reported in time', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    bounds.event('alice', 'ice-restart');
    time.now += 5 * 60_000 + 1;
    expect(bounds.admitReconnection('alice', recovered(1000))).toMatchObject({ reason: 'no-event' });
  });

  it('refuses a duration longer than the session has existed', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    time.now += 10_000;
    bounds.event('alice', 'resume');
    expect(bounds.admitReconnection('alice', recovered(300_000))).toMatchObject({ reason: 'implausible' });
    // Nothing was used up by the refused report.
    expect(bounds.admitReconnection('alice', recovered(9000))).toEqual({ ok: true });
  });

  it('a session taken over from another instance is as old as it was there, not as old as it is here', () => {
    const { time, bounds } = setup();
    // Began on another instance 60 s ago, its socket lost 12 s ago; resumed here now.
    bounds.opened('alice', time.now - 60_000);
    bounds.event('alice', 'resume');
    expect(bounds.admitReconnection('alice', recovered(12_000))).toEqual({ ok: true });
    // Being told again (a later resume here) does not make it younger or older.
    time.now += 1000;
    bounds.opened('alice', time.now);
    time.now += 20_000;
    bounds.event('alice', 'resume');
    // 81 s old (and 2 s of slack): not 90 s of reconnecting.
    expect(bounds.admitReconnection('alice', recovered(90_000))).toMatchObject({ reason: 'implausible' });
    expect(bounds.admitReconnection('alice', recovered(75_000))).toEqual({ ok: true });
  });

  it('keeps at most a few reconnections waiting, and caps reports per hour', () => {
    const { time, bounds } = setup();
    bounds.opened('alice');
    for (let i = 0; i < 10; i += 1) {
      time.now += 11_000;
      bounds.event('alice', 'ice-restart');
    }
    let admitted = 0;
    while (bounds.admitReconnection('alice', recovered(100)).ok) admitted += 1;
    expect(admitted).toBe(3);

    let total = admitted;
    for (let i = 0; i < 20; i += 1) {
      time.now += 11_000;
      bounds.event('alice', 'ice-restart');
      if (bounds.admitReconnection('alice', recovered(100)).ok) total += 1;
    }
    expect(total).toBe(10);
    expect(bounds.admitReconnection('alice', recovered(100))).toMatchObject({ reason: 'too-many' });
  });

  it('after a refused resume, the new session may report that its reconnection gave up, once', () => {
    const { time, bounds } = setup();
    bounds.opened('fresh');
    bounds.event('fresh', 'resume-refused');
    time.now += 200;
    // The old session expired in standby: its reconnection cannot have recovered, but took long.
    expect(bounds.admitReconnection('fresh', recovered(1000))).toMatchObject({ reason: 'implausible' });
    expect(
      bounds.admitReconnection('fresh', { kind: 'reconnection', outcome: 'gave-up', durationMs: 150_000 }),
    ).toEqual({ ok: true });
    expect(
      bounds.admitReconnection('fresh', { kind: 'reconnection', outcome: 'gave-up', durationMs: 150_000 }),
    ).toMatchObject({ reason: 'no-event' });
  });

  it('forgets a session that ended', () => {
    const { bounds } = setup();
    bounds.opened('alice');
    bounds.event('alice', 'resume');
    bounds.forget('alice');
    expect(bounds.sizes.sessions).toBe(0);
  });
});
