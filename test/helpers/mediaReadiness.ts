import type { Page } from 'playwright-core';
import { inboundVideo } from './browser.js';
import { sleep } from './wait.js';

/** One simulcast encoding of a publisher, as its own Chromium reports it over a short window. */
export type EncodingSample = {
  rid: string;
  kbps: number;
  /** Frames encoded per second over the window. */
  fps: number;
  frameWidth: number;
  frameHeight: number;
  /** Why Chromium holds this encoding back now: none, cpu, bandwidth or other. */
  limitation: string;
  /** Seconds spent limited by cpu and by bandwidth since the encoding started. */
  limitedSeconds: { cpu: number; bandwidth: number };
  /** The transport's send-side bandwidth estimate, kbps (null before the first estimate). */
  availableOutgoingKbps: number | null;
};

/** Chromium's view of a page's video producer: every encoding (rid) over `windowMs`. */
export async function sampleEncodings(page: Page, windowMs = 1000): Promise<EncodingSample[]> {
  return page.evaluate(async (windowMs) => {
    const app = window as unknown as {
      meetopia: { media: { sendTransport?: { getStats(): Promise<RTCStatsReport> } } };
    };
    const transport = app.meetopia.media.sendTransport;
    if (!transport) return [];
    const first = await transport.getStats();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const second = await transport.getStats();
    let available: number | null = null;
    for (const stat of second.values()) {
      if (stat.type === 'candidate-pair' && stat.nominated && typeof stat.availableOutgoingBitrate === 'number') {
        available = Math.round(stat.availableOutgoingBitrate / 1000);
      }
    }
    const samples = [];
    for (const stat of second.values()) {
      if (stat.type !== 'outbound-rtp' || stat.kind !== 'video' || !stat.rid) continue;
      const before = first.get(stat.id);
      const ms = stat.timestamp - (before?.timestamp ?? stat.timestamp);
      const durations = stat.qualityLimitationDurations ?? {};
      samples.push({
        rid: stat.rid as string,
        kbps: ms > 0 ? Math.round(((stat.bytesSent - (before?.bytesSent ?? stat.bytesSent)) * 8) / ms) : 0,
        fps:
          ms > 0 ? Math.round(((stat.framesEncoded - (before?.framesEncoded ?? stat.framesEncoded)) * 1000) / ms) : 0,
        frameWidth: stat.frameWidth ?? 0,
        frameHeight: stat.frameHeight ?? 0,
        limitation: stat.qualityLimitationReason ?? 'unknown',
        limitedSeconds: {
          cpu: Math.round((durations.cpu ?? 0) * 10) / 10,
          bandwidth: Math.round((durations.bandwidth ?? 0) * 10) / 10,
        },
        availableOutgoingKbps: available,
      });
    }
    return samples.sort((a, b) => a.rid.localeCompare(b.rid));
  }, windowMs);
}

/** mediasoup's view of one session, from the admin API (`GET /api/admin/media`). */
type SessionMedia = {
  sessionId: string;
  producers: Array<{ kind: string; streams: Array<{ rid?: string; bitrate: number; score: number }> }>;
  consumers: Array<{
    kind: string;
    currentLayers: { spatialLayer: number } | null;
    preferredLayers: { spatialLayer: number } | null;
    score: { score: number; producerScore: number; producerScores: number[] };
  }>;
};

export type ServerView = {
  /** Per session: its video producer's stream scores and bitrates by rid. */
  producers: Array<Array<{ rid: string; score: number; kbps: number }>>;
  /** Every video consumer's forwarded and preferred spatial layer. */
  consumers: Array<{ current: number | null; preferred: number | null; score: number }>;
};

export async function serverMediaView(baseUrl: string, adminToken: string): Promise<ServerView> {
  const response = await fetch(`${baseUrl}/api/admin/media`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!response.ok) throw new Error(`/api/admin/media: HTTP ${response.status}`);
  const sessions = (await response.json()) as SessionMedia[];
  return {
    producers: sessions.map((session) =>
      session.producers
        .filter((producer) => producer.kind === 'video')
        .flatMap((producer) => producer.streams)
        .map((stream) => ({ rid: stream.rid ?? '', score: stream.score, kbps: Math.round(stream.bitrate / 1000) }))
        .sort((a, b) => a.rid.localeCompare(b.rid)),
    ),
    consumers: sessions.flatMap((session) =>
      session.consumers
        .filter((consumer) => consumer.kind === 'video')
        .map((consumer) => ({
          current: consumer.currentLayers?.spatialLayer ?? null,
          preferred: consumer.preferredLayers?.spatialLayer ?? null,
          score: consumer.score.score,
        })),
    ),
  };
}

export type FullQualityOptions = {
  /** The publishers (each also receives the other's video). */
  pages: readonly Page[];
  /**
   * Only the first page publishes and only the second receives (the second's camera is off):
   * tests of one direction wait for that direction alone.
   */
  oneWay?: boolean;
  baseUrl: string;
  adminToken: string;
  /** The top encoding must carry at least this much in every window, kbps. */
  minTopKbps: number;
  /** Consecutive one-second windows that must all pass. */
  steadyWindows?: number;
  timeoutMs?: number;
};

/** What was seen while waiting, for the failure message and the test log. */
export type FullQualityReport = {
  afterMs: number;
  encodings: EncodingSample[][];
  server: ServerView;
  /** What the last sample short of full quality lacked (empty when the first samples passed). */
  waitedFor: string[];
};

/**
 * The precondition of every test that measures a change from "full quality": waits until each
 * publisher sends its top simulcast encoding at full size and at least `minTopKbps`, steadily,
 * each receiver decodes that full size, and mediasoup forwards the top layer to every video
 * consumer. A call is only at full quality some time after it starts (the send-side bandwidth
 * estimate ramps up; on a loaded machine Chromium also scales encodings down for CPU), so a test
 * that samples at once measures the ramp, not the feature. Fails with the cause when the call
 * does not get there in time.
 */
export async function waitForFullQuality(options: FullQualityOptions): Promise<FullQualityReport> {
  const { pages, baseUrl, adminToken, minTopKbps, steadyWindows = 2, timeoutMs = 30_000, oneWay = false } = options;
  const publishers = oneWay ? pages.slice(0, 1) : pages;
  const started = Date.now();
  let steady = 0;
  let last: { encodings: EncodingSample[][]; server: ServerView; problems: string[] } | null = null;
  let waitedFor: string[] = [];
  while (Date.now() - started < timeoutMs) {
    const encodings = await Promise.all(publishers.map((page) => sampleEncodings(page)));
    const server = await serverMediaView(baseUrl, adminToken);
    const problems: string[] = [];
    const topWidths: number[] = [];
    encodings.forEach((layers, index) => {
      const top = layers.at(-1);
      const full = Math.max(0, ...layers.map((layer) => layer.frameWidth));
      if (!top) {
        problems.push(`publisher ${index}: no video encodings`);
        return;
      }
      topWidths[index] = top.frameWidth;
      if (top.kbps < minTopKbps || top.limitation !== 'none' || top.frameWidth < full) {
        problems.push(`publisher ${index}: ${describeEncoding(top)}`);
      }
    });
    for (const [index, page] of pages.entries()) {
      if (oneWay && index === 0) continue;
      const publisher = oneWay ? 0 : pages.length === 2 ? 1 - index : undefined;
      const expected = publisher === undefined ? undefined : topWidths[publisher];
      const video = await inboundVideo(page);
      if (expected !== undefined && video?.frameWidth !== expected) {
        problems.push(`receiver ${index}: decodes ${video?.frameWidth ?? 0} px wide, the top encoding is ${expected}`);
      }
    }
    // One way: the consumer of the paused camera forwards nothing; the other must be on top.
    const lowConsumers = server.consumers.filter((consumer) => consumer.current !== 2);
    const onTop = server.consumers.length - lowConsumers.length;
    if (oneWay ? onTop < 1 : lowConsumers.length > 0) {
      problems.push(
        `mediasoup forwards layers ${JSON.stringify(server.consumers.map((c) => c.current))} ` +
          `(preferred ${JSON.stringify(server.consumers.map((c) => c.preferred))}), producer scores ` +
          JSON.stringify(server.producers.map((streams) => streams.map((stream) => stream.score))),
      );
    }
    last = { encodings, server, problems };
    if (problems.length > 0) waitedFor = problems;
    steady = problems.length === 0 ? steady + 1 : 0;
    if (steady >= steadyWindows) return { afterMs: Date.now() - started, encodings, server, waitedFor };
    await sleep(200);
  }
  throw new Error(
    `the call did not reach full quality within ${Math.round(timeoutMs / 1000)} s: ${last?.problems.join('; ') ?? 'no sample'}`,
  );
}

/** "r2 0 kbps at 640x360, limited by cpu (cpu 12.3 s, bandwidth 0.4 s so far), estimate 900 kbps". */
export function describeEncoding(sample: EncodingSample): string {
  const limited = sample.limitation === 'none' ? 'not limited' : `limited by ${sample.limitation}`;
  return (
    `${sample.rid} ${sample.kbps} kbps ${sample.fps} fps at ${sample.frameWidth}x${sample.frameHeight}, ${limited} ` +
    `(cpu ${sample.limitedSeconds.cpu} s, bandwidth ${sample.limitedSeconds.bandwidth} s so far), ` +
    `send estimate ${sample.availableOutgoingKbps ?? '?'} kbps`
  );
}
