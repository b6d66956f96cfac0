import { describe, expect, it } from 'vitest';
import { LayerPolicy, type LayerSignals, rungLayers, rungOf } from './LayerPolicy.js';

const layerBitrates = [100_000, 300_000, 1_200_000];
const top = { spatialLayer: 2, temporalLayer: 2 };

/** Healthy conditions with the top layer forwarded. */
function signals(overrides: Partial<LayerSignals> = {}): LayerSignals {
  return {
    maxSpatialLayer: 2,
    current: top,
    score: 10,
    reportedLoss: 0,
    availableBitrate: 3_000_000,
    layerBitrates,
    ...overrides,
  };
}

/** Feeds the same signals once a second for `seconds`, returning the last decision and every change. */
function run(policy: LayerPolicy, start: number, seconds: number, input: LayerSignals | ((t: number) => LayerSignals)) {
  const changes: string[] = [];
  let last = policy.decide(typeof input === 'function' ? input(start) : input, start);
  if (last.change) changes.push(last.change);
  for (let t = start + 1000; t <= start + seconds * 1000; t += 1000) {
    last = policy.decide(typeof input === 'function' ? input(t) : input, t);
    if (last.change) changes.push(last.change);
  }
  return { last, changes, end: start + seconds * 1000 };
}

describe('the layer ladder', () => {
  it('maps rungs to layers and back', () => {
    expect(rungLayers(0)).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    expect(rungLayers(3)).toEqual({ spatialLayer: 2, temporalLayer: 2 });
    for (const rung of [0, 1, 2, 3]) expect(rungOf(rungLayers(rung))).toBe(rung);
    // Half rate on a higher spatial layer counts as the full-rate layer below it.
    expect(rungOf({ spatialLayer: 2, temporalLayer: 0 })).toBe(2);
  });
});

describe('LayerPolicy.decide()', () => {
  it('keeps the top layer on a healthy link and changes nothing', () => {
    const policy = new LayerPolicy();
    const { last, changes } = run(policy, 0, 30, signals());
    expect(last.layers).toEqual(top);
    expect(changes).toEqual([]);
  });

  it('follows mediasoup down after the bandwidth estimate drops, then holds that layer', () => {
    const policy = new LayerPolicy();
    // mediasoup forwards the middle layer because the estimate fell.
    const congested = signals({ current: { spatialLayer: 1, temporalLayer: 2 }, availableBitrate: 350_000 });
    const { last, changes } = run(policy, 0, 3, congested);
    expect(changes).toEqual(['down-bandwidth']);
    expect(last.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
  });

  it('comes down at once, past the middle layer, when the estimate collapses under the forwarded one', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 3, signals({ availableBitrate: 1_600_000 }));
    // mediasoup still forwards the top layer; its estimate just fell to 300 kbps.
    const decision = policy.decide(signals({ availableBitrate: 300_000 }), 3100);
    expect(decision).toEqual({ layers: { spatialLayer: 0, temporalLayer: 2 }, change: 'down-bandwidth' });
  });

  it('a slow decline of the estimate is left to mediasoup and followed, not anticipated', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 3, signals({ availableBitrate: 1_300_000 }));
    // Under what the top layer needs, but not a sharp drop: mediasoup decides, the policy follows.
    const gentle = policy.decide(signals({ availableBitrate: 1_000_000 }), 4000);
    expect(gentle.change).toBeNull();
    const followed = policy.decide(
      signals({ availableBitrate: 1_000_000, current: { spatialLayer: 1, temporalLayer: 2 } }),
      5000,
    );
    expect(followed).toEqual({ layers: { spatialLayer: 1, temporalLayer: 2 }, change: 'down-bandwidth' });
  });

  it('does not react to a blip shorter than the down delay', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 5, signals());
    const blip = policy.decide(signals({ current: { spatialLayer: 0, temporalLayer: 2 }, score: 3 }), 6000);
    const after = policy.decide(signals(), 7000);
    expect([blip.change, after.change]).toEqual([null, null]);
    expect(after.layers).toEqual(top);
  });

  it('steps down on receiver-reported loss that the estimate does not show', () => {
    const policy = new LayerPolicy();
    const lossy = signals({ reportedLoss: 0.15 });
    const { last, changes } = run(policy, 0, 2, lossy);
    expect(changes).toEqual(['down-loss']);
    expect(last.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
  });

  it('keeps stepping down while loss persists, to the lowest layer at half frame rate', () => {
    const policy = new LayerPolicy();
    // mediasoup forwards whatever the ceiling allows, and the receiver keeps losing packets.
    const { last, changes } = run(policy, 0, 20, () => signals({ score: 3, current: policy.layers }));
    expect(changes).toEqual(['down-loss', 'down-loss', 'down-loss']);
    expect(last.layers).toEqual({ spatialLayer: 0, temporalLayer: 1 });
  });

  it('leaves loss to the estimate while mediasoup already forwards less than the ceiling', () => {
    const policy = new LayerPolicy();
    const { changes } = run(policy, 0, 10, signals({ score: 3, current: { spatialLayer: 1, temporalLayer: 2 } }));
    expect(changes).toEqual([]);
  });

  it('does not follow mediasoup down while its estimate still carries the ceiling (start-up, key frame wait)', () => {
    const policy = new LayerPolicy();
    const ramping = signals({ current: { spatialLayer: 1, temporalLayer: 2 }, availableBitrate: 1_600_000 });
    const { changes, last } = run(policy, 0, 10, ramping);
    expect(changes).toEqual([]);
    expect(last.layers).toEqual(top);
  });

  it('without an estimate, climbs one rung at a time after a stretch of good conditions', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 8, () => signals({ score: 3, current: policy.layers }));
    expect(policy.layers).toEqual({ spatialLayer: 0, temporalLayer: 1 });
    const seen: string[] = [];
    run(policy, 9000, 30, () => {
      const current = policy.layers;
      if (seen.at(-1) !== JSON.stringify(current)) seen.push(JSON.stringify(current));
      return signals({ current, availableBitrate: null });
    });
    expect(seen.map((layers) => JSON.parse(layers))).toEqual([
      { spatialLayer: 0, temporalLayer: 1 },
      { spatialLayer: 0, temporalLayer: 2 },
      { spatialLayer: 1, temporalLayer: 2 },
      top,
    ]);
  });

  it('climbs straight to the highest layer the estimate carries with headroom', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 8, () => signals({ score: 3, current: policy.layers }));
    const { changes, last } = run(policy, 9000, 10, () =>
      signals({ current: policy.layers, availableBitrate: 400_000 }),
    );
    expect(changes).toEqual(['up']);
    expect(last.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
  });

  it('does not climb while the estimate cannot carry the next layer', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 3, signals({ current: { spatialLayer: 1, temporalLayer: 2 }, availableBitrate: 400_000 }));
    const { last } = run(
      policy,
      4000,
      60,
      signals({ current: { spatialLayer: 1, temporalLayer: 2 }, availableBitrate: 900_000 }),
    );
    expect(last.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
  });

  it('waits longer after each climb that failed, so a marginal link does not flap', () => {
    const policy = new LayerPolicy();
    // The link carries the middle layer; every time the ceiling allows the top one, it falls back.
    const marginal = () => {
      const ceiling = policy.layers;
      // At the top layer the link saturates and the estimate falls under it; below, it recovers.
      const onTop = ceiling.spatialLayer === 2;
      return signals({
        current: onTop ? { spatialLayer: 1, temporalLayer: 2 } : ceiling,
        availableBitrate: onTop ? 1_000_000 : 1_700_000,
      });
    };
    const { changes } = run(policy, 0, 120, marginal);
    const climbs = changes.filter((change) => change === 'up').length;
    // 4 s, then 8, 16, 32, 32 s waits (+2 s to fall back each time): at most 5 climbs in two minutes.
    expect(climbs).toBeGreaterThan(1);
    expect(climbs).toBeLessThanOrEqual(5);
    expect(changes.filter((change) => change === 'down-bandwidth').length).toBeGreaterThanOrEqual(climbs - 1);
  });

  it('after failed climbs, a link that plainly recovered climbs after the short wait again', () => {
    const policy = new LayerPolicy();
    // A marginal link: each climb to the top fails, so the wait grows.
    const marginal = () => {
      const onTop = policy.layers.spatialLayer === 2;
      return signals({
        current: onTop ? { spatialLayer: 1, temporalLayer: 2 } : policy.layers,
        availableBitrate: onTop ? 1_000_000 : 1_700_000,
      });
    };
    run(policy, 0, 60, marginal);
    // Now the estimate carries twice the top layer: the climb comes after 4 s, not 16 or 32.
    run(policy, 61_000, 2, signals({ current: { spatialLayer: 1, temporalLayer: 2 }, availableBitrate: 1_000_000 }));
    expect(policy.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
    const { changes } = run(policy, 64_000, 4, () => signals({ current: policy.layers, availableBitrate: 3_000_000 }));
    expect(changes).toEqual(['up']);
    expect(policy.layers).toEqual(top);
  });

  it('follows the layers the publisher sends at once, both ways, without touching the network ceiling', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 2, signals());
    const disabled = policy.decide(
      signals({ maxSpatialLayer: 1, current: { spatialLayer: 1, temporalLayer: 2 } }),
      3000,
    );
    expect(disabled).toEqual({ layers: { spatialLayer: 1, temporalLayer: 2 }, change: 'down-unavailable' });
    const back = policy.decide(signals({ current: { spatialLayer: 1, temporalLayer: 2 } }), 4000);
    expect(back).toEqual({ layers: top, change: 'up' });
  });

  it('a layer returning does not lift a ceiling the network set', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 3, signals({ current: { spatialLayer: 0, temporalLayer: 2 }, availableBitrate: 150_000 }));
    expect(policy.layers).toEqual({ spatialLayer: 0, temporalLayer: 2 });
    policy.decide(
      signals({ maxSpatialLayer: 1, current: { spatialLayer: 0, temporalLayer: 2 }, availableBitrate: 150_000 }),
      4000,
    );
    const back = policy.decide(
      signals({ current: { spatialLayer: 0, temporalLayer: 2 }, availableBitrate: 150_000 }),
      5000,
    );
    expect(back).toEqual({ layers: { spatialLayer: 0, temporalLayer: 2 }, change: null });
  });

  it('one high estimate during a good stretch does not decide how far to climb', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 8, () => signals({ score: 3, current: policy.layers }));
    // A probe burst reads 3 Mbps once; the rest of the stretch says 400 kbps.
    const { last } = run(policy, 9000, 6, (t) =>
      signals({ current: policy.layers, availableBitrate: t === 13_000 ? 3_000_000 : 400_000 }),
    );
    expect(last.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
  });

  it('treats a missing report and a missing estimate as no objection', () => {
    const policy = new LayerPolicy();
    run(policy, 0, 2, signals({ reportedLoss: 0.3 }));
    expect(policy.layers).toEqual({ spatialLayer: 1, temporalLayer: 2 });
    const { last } = run(policy, 3000, 10, () =>
      signals({ reportedLoss: null, availableBitrate: null, current: policy.layers }),
    );
    expect(last.layers).toEqual(top);
  });
});
