import { experienceReportSchema } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { ExperienceTracker } from './ExperienceTracker.js';

describe('ExperienceTracker', () => {
  describe('calls', () => {
    it('times a conversation from the Start click to the first frame', () => {
      const tracker = new ExperienceTracker();
      tracker.clicked(1000);
      tracker.matched('p1', 1100);
      const report = tracker.firstFrame('p1', 1250);
      expect(report).toEqual({ kind: 'call', pairId: 'p1', firstFrameMs: 250 });
      expect(experienceReportSchema.safeParse(report).success).toBe(true);
    });

    it('reports each conversation once', () => {
      const tracker = new ExperienceTracker();
      tracker.clicked(0);
      tracker.matched('p1', 10);
      expect(tracker.firstFrame('p1', 100)).not.toBeNull();
      expect(tracker.firstFrame('p1', 200)).toBeNull();
    });

    it('times from the match when the user was put back in the queue by the partner', () => {
      const tracker = new ExperienceTracker();
      tracker.clicked(0);
      tracker.matched('p1', 50);
      tracker.firstFrame('p1', 150);
      tracker.ended();
      tracker.requeued();
      tracker.matched('p2', 9000);
      expect(tracker.firstFrame('p2', 9200)).toEqual({ kind: 'call', pairId: 'p2', firstFrameMs: 200 });
    });

    it('times a Next from its click', () => {
      const tracker = new ExperienceTracker();
      tracker.matched('p1', 0);
      tracker.clicked(5000);
      tracker.ended();
      tracker.matched('p2', 5100);
      expect(tracker.firstFrame('p2', 5300)?.firstFrameMs).toBe(300);
    });

    it('ignores a frame of a conversation that is over or another pair', () => {
      const tracker = new ExperienceTracker();
      tracker.clicked(0);
      tracker.matched('p1', 10);
      expect(tracker.firstFrame('p0', 20)).toBeNull();
      tracker.ended();
      expect(tracker.firstFrame('p1', 30)).toBeNull();
    });

    it('drops a figure the protocol would refuse', () => {
      const tracker = new ExperienceTracker();
      tracker.clicked(0);
      tracker.matched('p1', 1);
      expect(tracker.firstFrame('p1', 200_000)).toBeNull();
    });
  });

  describe('reconnections', () => {
    it('reports a resumed socket as recovered, timed from the loss', () => {
      const tracker = new ExperienceTracker();
      tracker.socketLost(1000);
      tracker.socketLost(1500);
      const report = tracker.socketBack(true, true, 1800);
      expect(report).toEqual({ kind: 'reconnection', outcome: 'recovered', durationMs: 800 });
      expect(experienceReportSchema.safeParse(report).success).toBe(true);
      expect(tracker.socketBack(true, true, 1900)).toBeNull();
    });

    it('reports a lost conversation or used-up retries as gave-up', () => {
      const tracker = new ExperienceTracker();
      tracker.socketLost(0);
      expect(tracker.socketBack(false, true, 100)?.outcome).toBe('gave-up');
      tracker.socketLost(200);
      expect(tracker.socketGaveUp(700)).toEqual({ kind: 'reconnection', outcome: 'gave-up', durationMs: 500 });
    });

    it('says nothing about a new session when there was nothing to keep', () => {
      const tracker = new ExperienceTracker();
      tracker.socketLost(0);
      expect(tracker.socketBack(false, false, 100)).toBeNull();
    });

    it('reports media that came back, and media that fell back to text', () => {
      const tracker = new ExperienceTracker();
      expect(tracker.mediaReconnecting(true, 100)).toBeNull();
      expect(tracker.mediaReconnecting(false, 2100)).toEqual({
        kind: 'reconnection',
        outcome: 'recovered',
        durationMs: 2000,
      });
      tracker.mediaReconnecting(true, 3000);
      expect(tracker.mediaGaveUp(8000)?.outcome).toBe('gave-up');
      expect(tracker.mediaReconnecting(false, 9000)).toBeNull();
    });

    it('does not report media that never worked', () => {
      expect(new ExperienceTracker().mediaGaveUp(5000)).toBeNull();
    });
  });
});
