import { describe, expect, it } from 'vitest';
import { MediaHealth, type TransportView } from './MediaHealth.js';

const view = (state: RTCPeerConnectionState, extra: Partial<TransportView> = {}): TransportView => ({
  direction: 'recv',
  state,
  carrying: true,
  everConnected: true,
  ...extra,
});

describe('MediaHealth', () => {
  describe('evaluate()', () => {
    it('is healthy while connected', () => {
      const health = new MediaHealth();
      expect(health.evaluate([view('connected')], 0)).toEqual({ restart: [], reconnecting: false, failing: false });
    });

    it('reports reconnecting at once, restarts ICE after the grace period, then periodically', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      expect(health.evaluate([view('disconnected')], 0)).toEqual({ restart: [], reconnecting: true, failing: false });
      expect(health.evaluate([view('disconnected')], 1999).restart).toEqual([]);
      expect(health.evaluate([view('disconnected')], 2000).restart).toEqual(['recv']);
      expect(health.evaluate([view('connecting')], 4999).restart).toEqual([]);
      expect(health.evaluate([view('connecting')], 5000).restart).toEqual(['recv']);
    });

    it('falls back to text after failAfterMs of broken media, and recovers when connected', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      health.evaluate([view('disconnected')], 1000);
      expect(health.evaluate([view('connecting')], 6999).failing).toBe(false);
      expect(health.evaluate([view('connecting')], 7000).failing).toBe(true);
      expect(health.evaluate([view('connected')], 9000)).toEqual({ restart: [], reconnecting: false, failing: false });
    });

    it('restarts a failed transport without waiting for the period', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      expect(health.evaluate([view('failed')], 0).restart).toEqual(['recv']);
      expect(health.evaluate([view('failed')], 1000).restart).toEqual([]);
      expect(health.evaluate([view('failed')], 2000).restart).toEqual(['recv']);
    });

    it('ignores a transport that carries no media', () => {
      const health = new MediaHealth();
      const idle = view('new', { carrying: false, everConnected: false });
      expect(health.evaluate([idle], 0)).toEqual({ restart: [], reconnecting: false, failing: false });
      expect(health.evaluate([idle], 60_000)).toEqual({ restart: [], reconnecting: false, failing: false });
    });

    it('lets a first connection negotiate, but gives up on it after failAfterMs', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      const starting = view('connecting', { everConnected: false });
      expect(health.evaluate([starting], 0)).toEqual({ restart: [], reconnecting: false, failing: false });
      expect(health.evaluate([starting], 3000).restart).toEqual([]);
      expect(health.evaluate([starting], 6000)).toEqual({ restart: ['recv'], reconnecting: false, failing: true });
    });

    it('treats a stalled transport as broken although ICE still says connected', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      const stalled = view('connected', { direction: 'send', stalled: true });
      expect(health.evaluate([stalled], 0)).toEqual({ restart: [], reconnecting: true, failing: false });
      expect(health.evaluate([stalled], 2000).restart).toEqual(['send']);
      expect(health.evaluate([stalled], 6000).failing).toBe(true);
      expect(health.evaluate([view('connected', { direction: 'send' })], 6500).failing).toBe(false);
    });

    it('tracks each direction on its own', () => {
      const health = new MediaHealth({ graceMs: 1000, restartEveryMs: 1000, failAfterMs: 5000 });
      const send = view('disconnected', { direction: 'send' });
      health.evaluate([send, view('connected')], 0);
      expect(health.evaluate([send, view('connected')], 1000).restart).toEqual(['send']);
    });

    it('a restart made elsewhere (network change) postpones the periodic one', () => {
      const health = new MediaHealth({ graceMs: 2000, restartEveryMs: 3000, failAfterMs: 6000 });
      health.evaluate([view('disconnected')], 0);
      health.restarted('recv', 1500);
      expect(health.evaluate([view('disconnected')], 2000).restart).toEqual([]);
      expect(health.evaluate([view('disconnected')], 4500).restart).toEqual(['recv']);
    });
  });
});
