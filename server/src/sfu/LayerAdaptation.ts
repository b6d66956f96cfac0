import type { QualityReport, SimulcastConfig } from '@meetopia/protocol';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import { type LayerChange, LayerPolicy, type LayerPolicyOptions } from './LayerPolicy.js';
import { KEY_FRAME_REQUEST_DELAY_MS, type UserMedia } from './UserMedia.js';

/** The receiving side of a video consumer, as adaptation needs it. */
export type AdaptedReceiver = {
  readonly media: UserMedia;
  /** The receiver's latest network report and when it arrived. */
  readonly quality: { readonly report: QualityReport | null; readonly reportedAt: number | null };
};

export type LayerAdaptationOptions = {
  /** How often every consumer's layers are reconsidered. */
  intervalMs: number;
  /** A receiver's loss report older than this is ignored. */
  reportMaxAgeMs: number;
  /** The admin's current layer table (which layers are active, their bitrates). */
  simulcast: () => SimulcastConfig;
  logger: Logger;
  policy?: LayerPolicyOptions;
  now?: () => number;
  /** Every time a ceiling moves (metrics). */
  onChange?: (change: LayerChange) => void;
};

type Entry = {
  consumer: types.Consumer;
  /** The publisher's producer (on its own worker): its streams' measured bitrates. */
  producer: types.Producer;
  receiver: AdaptedReceiver;
  policy: LayerPolicy;
  /** The preferred layers last given to mediasoup. */
  applied: types.ConsumerLayers;
  /** When mediasoup last changed this consumer's layers and triggered an early decision. */
  reactedAt: number;
  /** When mediasoup last switched this consumer's layers (a key frame was just asked for). */
  switchedAt: number;
  /** A ceiling change held back until the publisher's encoder takes key frame requests again. */
  timer: NodeJS.Timeout | undefined;
  /** Extra key frame requests after coming down on a congested link. */
  repeats: NodeJS.Timeout[];
};

/** Early decisions on mediasoup's own layer changes happen at most this often per consumer. */
const REACT_INTERVAL_MS = 250;
/**
 * After coming down because the link narrowed or lost packets, the new layer's first key frame
 * travels through a queue still full of the old layer's packets and is often lost; the receiver
 * then asks for another only seconds later (seen: 4 s). Asking again ourselves, while the queue
 * drains, costs a few kilobytes at the low layer.
 */
const KEY_FRAME_REPEATS_MS = [600, 1500];

/**
 * Server-side layer adaptation: for every video consumer, reads mediasoup's signals (consumer
 * score, the producer's live layers and their bitrates, the receive transport's bandwidth
 * estimate) and the receiver's loss report, asks the consumer's LayerPolicy for a ceiling and
 * applies it with `setPreferredLayers` when it changed. Runs once per tick, and at once when
 * mediasoup reports a new estimate or switches a consumer's layers by itself.
 */
export class LayerAdaptation {
  readonly #options: LayerAdaptationOptions;
  readonly #entries = new Map<string, Entry>();
  /** Receive transports whose bandwidth estimate events are already listened to. */
  readonly #watchedTransports = new WeakSet<types.WebRtcTransport>();
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;
  #ticking = false;

  constructor(options: LayerAdaptationOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => void this.tick(), options.intervalMs);
    this.#timer.unref();
  }

  /** Video consumers under adaptation. */
  get size(): number {
    return this.#entries.size;
  }

  /** Puts a video consumer of `producer` under adaptation until it closes. */
  track(consumer: types.Consumer, receiver: AdaptedReceiver, producer: types.Producer): void {
    if (consumer.kind !== 'video' || consumer.closed) return;
    const policy = new LayerPolicy(this.#options.policy);
    const entry: Entry = {
      consumer,
      producer,
      receiver,
      policy,
      applied: policy.layers,
      reactedAt: 0,
      switchedAt: 0,
      timer: undefined,
      repeats: [],
    };
    this.#entries.set(consumer.id, entry);
    consumer.observer.once('close', () => {
      clearTimers(entry);
      this.#entries.delete(consumer.id);
    });
    this.#watchEstimate(receiver.media.transport('recv'));
    // mediasoup moved the layers on its own (its estimate fell, a stream died): decide now
    // rather than at the next tick, so that a collapse is followed within milliseconds.
    consumer.observer.on('layerschange', () => {
      const now = this.#now();
      entry.switchedAt = now;
      if (now - entry.reactedAt < REACT_INTERVAL_MS) return;
      entry.reactedAt = now;
      void this.#adaptWithFreshSignals(entry);
    });
  }

  /** One adaptation round (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      // One stats call per receive transport and per producer, shared by their consumers.
      const signals = new SignalReader(this.#options.simulcast());
      await Promise.all([...this.#entries.values()].map((entry) => this.#adapt(entry, signals)));
    } finally {
      this.#ticking = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const entry of this.#entries.values()) clearTimers(entry);
    this.#entries.clear();
  }

  async #adaptWithFreshSignals(entry: Entry, estimate?: number): Promise<void> {
    if (this.#entries.get(entry.consumer.id) === entry) {
      await this.#adapt(entry, new SignalReader(this.#options.simulcast(), estimate));
    }
  }

  /**
   * mediasoup reports its new estimate at once when it falls sharply (and at most every second
   * otherwise): every consumer on that transport decides right away, before the key frames
   * mediasoup asked for on its own reach it.
   */
  #watchEstimate(transport: types.WebRtcTransport | undefined): void {
    if (!transport || transport.closed || this.#watchedTransports.has(transport)) return;
    this.#watchedTransports.add(transport);
    void transport.enableTraceEvent(['bwe']).catch(() => {});
    transport.on('trace', (trace) => {
      const estimate = bweAvailableBitrate(trace);
      if (estimate === null) return;
      for (const entry of this.#entries.values()) {
        if (entry.receiver.media.transport('recv') === transport) void this.#adaptWithFreshSignals(entry, estimate);
      }
    });
  }

  async #adapt(entry: Entry, signals: SignalReader): Promise<void> {
    const { consumer, receiver, policy } = entry;
    if (consumer.closed || consumer.paused) return;
    const { simulcast } = signals;
    const [availableBitrate, layerBitrates] = await Promise.all([
      signals.estimate(receiver.media),
      signals.layerBitrates(entry.producer),
    ]);
    if (consumer.closed) return;
    const now = this.#now();
    const decision = policy.decide(
      {
        maxSpatialLayer: maxLiveSpatialLayer(simulcast, consumer.score.producerScores),
        current: consumer.currentLayers ?? null,
        score: consumer.score.score,
        reportedLoss: recentLoss(receiver, now, this.#options.reportMaxAgeMs),
        availableBitrate,
        layerBitrates,
      },
      now,
    );
    if (decision.change) {
      this.#options.onChange?.(decision.change);
      this.#options.logger.debug(
        { consumerId: consumer.id, change: decision.change, layers: decision.layers, availableBitrate },
        'layer ceiling moved',
      );
    }
    if (sameLayers(decision.layers, entry.applied)) return;
    const congested = decision.change === 'down-bandwidth' || decision.change === 'down-loss';
    entry.applied = decision.layers;
    // A new ceiling makes mediasoup ask the publisher for a key frame of the new layer. Right
    // after a switch of mediasoup's own, Chrome's encoder would ignore that request (it takes one
    // per 300 ms, for all layers together) and mediasoup would only ask again a second later.
    const wait = Math.max(0, entry.switchedAt + KEY_FRAME_REQUEST_DELAY_MS - now);
    clearTimers(entry);
    if (congested) {
      entry.repeats = KEY_FRAME_REPEATS_MS.map((delay) =>
        setTimeout(() => void consumer.requestKeyFrame().catch(() => {}), wait + delay),
      );
    }
    if (wait > 0) {
      entry.timer = setTimeout(() => void applyLayers(entry), wait);
      return;
    }
    await applyLayers(entry);
  }
}

/** Reads the mediasoup figures a round needs, each transport's and producer's once. */
class SignalReader {
  readonly simulcast: SimulcastConfig;
  readonly #estimates = new Map<UserMedia, Promise<number | null>>();
  readonly #layerBitrates = new Map<types.Producer, Promise<number[]>>();
  /** An estimate mediasoup just reported (a `bwe` trace), used instead of asking for one. */
  readonly #knownEstimate: number | undefined;

  constructor(simulcast: SimulcastConfig, knownEstimate?: number) {
    this.simulcast = simulcast;
    this.#knownEstimate = knownEstimate;
  }

  /** The receive transport's bandwidth estimate. */
  estimate(media: UserMedia): Promise<number | null> {
    if (this.#knownEstimate !== undefined) return Promise.resolve(this.#knownEstimate);
    let estimate = this.#estimates.get(media);
    if (!estimate) {
      estimate = availableBitrate(media.transport('recv'));
      this.#estimates.set(media, estimate);
    }
    return estimate;
  }

  /** What each of the producer's layers carries now. */
  layerBitrates(producer: types.Producer): Promise<number[]> {
    let bitrates = this.#layerBitrates.get(producer);
    if (!bitrates) {
      bitrates = measuredLayerBitrates(
        producer,
        this.simulcast.layers.map((layer) => layer.maxBitrate),
      );
      this.#layerBitrates.set(producer, bitrates);
    }
    return bitrates;
  }
}

/**
 * The highest spatial layer that is both enabled in the admin's table and actually arriving from
 * the publisher (mediasoup scores a stream 0 when nothing arrives on it). Before the producer has
 * any scores, the table alone decides.
 */
export function maxLiveSpatialLayer(simulcast: SimulcastConfig, producerScores: readonly number[]): number {
  for (let index = simulcast.layers.length - 1; index >= 0; index -= 1) {
    const enabled = simulcast.layers[index]?.active === true;
    const arriving = producerScores.length === 0 || (producerScores[index] ?? 0) > 0;
    if (enabled && arriving) return index;
  }
  return 0;
}

function recentLoss(receiver: AdaptedReceiver, now: number, maxAgeMs: number): number | null {
  const { report, reportedAt } = receiver.quality;
  if (reportedAt === null || now - reportedAt > maxAgeMs) return null;
  return report?.packetLoss ?? null;
}

/**
 * What each spatial layer of a producer carries now, as mediasoup measures it, lowest first; a
 * layer without a measurement counts at its configured maximum. Encoders often stay well under
 * the maximum, and comparing the estimate with the maximum would hold receivers down needlessly.
 */
async function measuredLayerBitrates(producer: types.Producer, configured: readonly number[]): Promise<number[]> {
  const stats = producer.closed ? [] : await producer.getStats().catch(() => []);
  return configured.map((maxBitrate, index) => {
    const encoding = producer.rtpParameters.encodings?.[index];
    const stream = stats.find((stat) =>
      encoding?.rid !== undefined ? stat.rid === encoding.rid : stat.ssrc === encoding?.ssrc,
    );
    return stream && stream.bitrate > 0 ? stream.bitrate : maxBitrate;
  });
}

/** The available bitrate of a transport `bwe` trace event, or null for any other trace. */
function bweAvailableBitrate(trace: types.TransportTraceEventData): number | null {
  const { info } = trace;
  if (trace.type !== 'bwe' || typeof info !== 'object' || info === null || !('availableBitrate' in info)) return null;
  const available = info.availableBitrate;
  return typeof available === 'number' && available > 0 ? available : null;
}

async function availableBitrate(transport: types.WebRtcTransport | undefined): Promise<number | null> {
  if (!transport || transport.closed) return null;
  const stats = await transport.getStats().catch(() => []);
  return stats[0]?.availableOutgoingBitrate ?? null;
}

function clearTimers(entry: Entry): void {
  clearTimeout(entry.timer);
  for (const timer of entry.repeats) clearTimeout(timer);
  entry.repeats = [];
}

async function applyLayers(entry: Entry): Promise<void> {
  entry.timer = undefined;
  // Fails only when the consumer closed meanwhile.
  await entry.consumer.setPreferredLayers(entry.applied).catch(() => {});
}

function sameLayers(a: types.ConsumerLayers, b: types.ConsumerLayers): boolean {
  return a.spatialLayer === b.spatialLayer && (a.temporalLayer ?? 2) === (b.temporalLayer ?? 2);
}
