import type { QualityReport } from '@meetopia/protocol';

/** Counters from the previous sample, to turn cumulative stats into per-interval figures. */
export type StatsBaseline = {
  packetsLost?: number;
  packetsReceived?: number;
  bytesReceived?: number;
  timestamp?: number;
};

type Stat = Record<string, unknown> & { type: string };

function* statsOf(report: RTCStatsReport | undefined): Generator<Stat> {
  if (!report) return;
  for (const stat of report.values() as IterableIterator<Stat>) yield stat;
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** The selected candidate pair: the one the transport reports, else the nominated succeeded one. */
function selectedPair(report: RTCStatsReport | undefined): Stat | undefined {
  const stats = [...statsOf(report)];
  const transport = stats.find((stat) => stat.type === 'transport' && typeof stat.selectedCandidatePairId === 'string');
  if (transport) return stats.find((stat) => stat.id === transport.selectedCandidatePairId);
  return stats.find((stat) => stat.type === 'candidate-pair' && stat.nominated === true && stat.state === 'succeeded');
}

/** Builds a quality report from the receive and send transports' `getStats()`. */
export function collectQualityReport(
  recv: RTCStatsReport | undefined,
  send: RTCStatsReport | undefined,
  previous: StatsBaseline,
): { report: QualityReport; baseline: StatsBaseline } {
  const report: QualityReport = {};
  const rtt = num(selectedPair(recv)?.currentRoundTripTime) ?? num(selectedPair(send)?.currentRoundTripTime);
  if (rtt !== undefined) report.rttMs = Math.round(rtt * 1000);
  const outgoing = num(selectedPair(send)?.availableOutgoingBitrate);
  if (outgoing !== undefined) report.availableOutgoingBitrate = Math.round(outgoing);

  const video = [...statsOf(recv)].find((stat) => stat.type === 'inbound-rtp' && stat.kind === 'video');
  const baseline: StatsBaseline = {};
  if (video) {
    const jitter = num(video.jitter);
    if (jitter !== undefined) report.jitterMs = Math.round(jitter * 1000);
    const fps = num(video.framesPerSecond);
    if (fps !== undefined) report.framesPerSecond = fps;
    baseline.packetsLost = num(video.packetsLost);
    baseline.packetsReceived = num(video.packetsReceived);
    baseline.bytesReceived = num(video.bytesReceived);
    baseline.timestamp = num(video.timestamp);
    const lost = delta(baseline.packetsLost, previous.packetsLost);
    const received = delta(baseline.packetsReceived, previous.packetsReceived);
    if (lost !== undefined && received !== undefined && lost + received > 0) {
      report.packetLoss = Math.min(1, Math.max(0, lost / (lost + received)));
    }
    const bytes = delta(baseline.bytesReceived, previous.bytesReceived);
    const elapsedMs = delta(baseline.timestamp, previous.timestamp);
    if (bytes !== undefined && elapsedMs !== undefined && elapsedMs > 0) {
      report.inboundVideoBitrate = Math.round((bytes * 8 * 1000) / elapsedMs);
    }
  }
  return { report, baseline };
}

function delta(current: number | undefined, previous: number | undefined): number | undefined {
  return current === undefined || previous === undefined || current < previous ? undefined : current - previous;
}
