import type { QualityReport } from '@meetopia/protocol';

/** Counters from the previous sample, to turn cumulative stats into per-interval figures. */
export type StatsBaseline = {
  /** The inbound-rtp stat the counters belong to: a new partner's stream starts from zero. */
  statId?: string;
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

/**
 * The inbound-rtp of the partner's video: the stream of `trackId` when given. Never
 * mediasoup-client's probator (a receive-only stream the SFU sends bursts of padding on to probe
 * bandwidth): its sporadic packets read as hundreds of ms of jitter and made a healthy link
 * look poor.
 */
function partnerVideo(recv: RTCStatsReport | undefined, trackId: string | undefined): Stat | undefined {
  const videos = [...statsOf(recv)].filter(
    (stat) =>
      stat.type === 'inbound-rtp' &&
      stat.kind === 'video' &&
      stat.trackIdentifier !== PROBATOR &&
      stat.mid !== PROBATOR,
  );
  if (trackId !== undefined) return videos.find((stat) => stat.trackIdentifier === trackId);
  return videos.sort((a, b) => (num(b.bytesReceived) ?? 0) - (num(a.bytesReceived) ?? 0))[0];
}

/** mediasoup-client's track id and mid for the probation stream. */
const PROBATOR = 'probator';

/**
 * Builds a quality report from the receive and send transports' `getStats()`; `videoTrackId`
 * is the partner's video track (the stream whose loss, jitter and rate are reported).
 */
export function collectQualityReport(
  recv: RTCStatsReport | undefined,
  send: RTCStatsReport | undefined,
  previous: StatsBaseline,
  videoTrackId?: string,
): { report: QualityReport; baseline: StatsBaseline } {
  const report: QualityReport = {};
  const rtt = num(selectedPair(recv)?.currentRoundTripTime) ?? num(selectedPair(send)?.currentRoundTripTime);
  if (rtt !== undefined) report.rttMs = Math.round(rtt * 1000);
  const path = mediaPath(recv, selectedPair(recv)) ?? mediaPath(send, selectedPair(send));
  if (path !== undefined) report.path = path;
  const outgoing = num(selectedPair(send)?.availableOutgoingBitrate);
  if (outgoing !== undefined) report.availableOutgoingBitrate = Math.round(outgoing);

  const video = partnerVideo(recv, videoTrackId);
  const baseline: StatsBaseline = {};
  if (video) {
    baseline.statId = video.id as string;
    // Counters of another stream (the previous partner's) say nothing about this one.
    const base = previous.statId === baseline.statId ? previous : {};
    const jitter = num(video.jitter);
    if (jitter !== undefined) report.jitterMs = Math.round(jitter * 1000);
    const fps = num(video.framesPerSecond);
    if (fps !== undefined) report.framesPerSecond = fps;
    baseline.packetsLost = num(video.packetsLost);
    baseline.packetsReceived = num(video.packetsReceived);
    baseline.bytesReceived = num(video.bytesReceived);
    baseline.timestamp = num(video.timestamp);
    const lost = delta(baseline.packetsLost, base.packetsLost);
    const received = delta(baseline.packetsReceived, base.packetsReceived);
    if (lost !== undefined && received !== undefined && lost + received > 0) {
      report.packetLoss = Math.min(1, Math.max(0, lost / (lost + received)));
    }
    const bytes = delta(baseline.bytesReceived, base.bytesReceived);
    const elapsedMs = delta(baseline.timestamp, base.timestamp);
    if (bytes !== undefined && elapsedMs !== undefined && elapsedMs > 0) {
      report.inboundVideoBitrate = Math.round((bytes * 8 * 1000) / elapsedMs);
    }
  }
  return { report, baseline };
}

/** Relayed through TURN, or direct over UDP or TCP: from the selected pair's local candidate. */
function mediaPath(report: RTCStatsReport | undefined, pair: Stat | undefined): QualityReport['path'] {
  if (!pair) return undefined;
  const local = [...statsOf(report)].find((stat) => stat.id === pair.localCandidateId);
  if (!local) return undefined;
  if (local.candidateType === 'relay') return 'relay';
  return local.protocol === 'tcp' ? 'tcp' : local.protocol === 'udp' ? 'udp' : undefined;
}

function delta(current: number | undefined, previous: number | undefined): number | undefined {
  return current === undefined || previous === undefined || current < previous ? undefined : current - previous;
}
