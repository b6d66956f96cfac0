import { describe, expect, it } from 'vitest';
import { collectQualityReport } from './stats.js';

type Stat = Record<string, unknown> & { id: string; type: string };

/** A getStats() result: RTCStatsReport is a read-only Map of stats by id. */
function report(...stats: Stat[]): RTCStatsReport {
  return new Map(stats.map((stat) => [stat.id, stat])) as unknown as RTCStatsReport;
}

const partnerVideo = (over: Partial<Stat> = {}): Stat => ({
  id: 'IT01V1',
  type: 'inbound-rtp',
  kind: 'video',
  mid: '1',
  trackIdentifier: 'partner-track',
  jitter: 0.006,
  packetsLost: 0,
  packetsReceived: 1000,
  bytesReceived: 1_000_000,
  timestamp: 10_000,
  framesPerSecond: 30,
  ...over,
});

// mediasoup-client's probation stream: sporadic padding bursts, so its jitter is meaningless.
const probator: Stat = {
  id: 'IT01V2',
  type: 'inbound-rtp',
  kind: 'video',
  mid: 'probator',
  trackIdentifier: 'probator',
  jitter: 0.318,
  packetsLost: 40,
  packetsReceived: 60,
  bytesReceived: 9_000_000,
  timestamp: 10_000,
};

describe('collectQualityReport()', () => {
  it("reports the partner's video stream, never the probator's jitter or loss", () => {
    const { report: quality } = collectQualityReport(report(probator, partnerVideo()), undefined, {}, 'partner-track');
    expect(quality.jitterMs).toBe(6);
    expect(quality.framesPerSecond).toBe(30);
  });

  it('ignores the probator even without a track id to look for', () => {
    const { report: quality } = collectQualityReport(report(probator, partnerVideo()), undefined, {});
    expect(quality.jitterMs).toBe(6);
  });

  it('computes loss and bitrate between two samples of the same stream', () => {
    const first = collectQualityReport(report(partnerVideo()), undefined, {}, 'partner-track');
    const second = collectQualityReport(
      report(partnerVideo({ packetsLost: 10, packetsReceived: 1090, bytesReceived: 1_250_000, timestamp: 11_000 })),
      undefined,
      first.baseline,
      'partner-track',
    );
    expect(second.report.packetLoss).toBeCloseTo(0.1);
    expect(second.report.inboundVideoBitrate).toBe(2_000_000);
  });

  it("does not mix a new partner's counters with the previous partner's", () => {
    const first = collectQualityReport(report(partnerVideo()), undefined, {}, 'partner-track');
    const next = partnerVideo({ id: 'IT02V1', trackIdentifier: 'new-partner', packetsLost: 5, packetsReceived: 20 });
    const second = collectQualityReport(report(next), undefined, first.baseline, 'new-partner');
    expect(second.report.packetLoss).toBeUndefined();
    expect(second.report.inboundVideoBitrate).toBeUndefined();
  });
});

describe('collectQualityReport() media path', () => {
  const pair = (local: string): Stat => ({
    id: 'CP1',
    type: 'candidate-pair',
    nominated: true,
    state: 'succeeded',
    localCandidateId: local,
    currentRoundTripTime: 0.02,
  });
  const transport: Stat = { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1' };

  it('says relay when the selected local candidate is a TURN relay', () => {
    const stats = report(transport, pair('L1'), {
      id: 'L1',
      type: 'local-candidate',
      candidateType: 'relay',
      protocol: 'udp',
    });
    expect(collectQualityReport(stats, undefined, {}).report).toMatchObject({ path: 'relay', rttMs: 20 });
  });

  it('says tcp or udp for a direct path', () => {
    const tcp = report(transport, pair('L1'), {
      id: 'L1',
      type: 'local-candidate',
      candidateType: 'host',
      protocol: 'tcp',
    });
    expect(collectQualityReport(tcp, undefined, {}).report.path).toBe('tcp');
    const udp = report(transport, pair('L1'), {
      id: 'L1',
      type: 'local-candidate',
      candidateType: 'srflx',
      protocol: 'udp',
    });
    expect(collectQualityReport(udp, undefined, {}).report.path).toBe('udp');
  });
});
