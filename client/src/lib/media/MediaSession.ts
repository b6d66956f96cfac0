import type {
  HelloResult,
  IceServer,
  NotificationOf,
  ParamsOf,
  QualityReport,
  RequestType,
  ResultOf,
  SimulcastConfig,
} from '@meetopia/protocol';
import { Device } from 'mediasoup-client';
import type { Consumer, MediaKind, Producer, Transport } from 'mediasoup-client/types';
import { MediaHealth } from './MediaHealth.js';
import { collectQualityReport, type StatsBaseline } from './stats.js';

/** The part of the signaling client media needs. */
export type SignalingPort = {
  request<Type extends RequestType>(type: Type, params: ParamsOf<Type>): Promise<ResultOf<Type>>;
};

export type MediaSessionEvents = {
  /** The set of remote tracks changed; a new stream object so that bindings refresh. */
  onRemoteStream: (stream: MediaStream | null) => void;
  /** True while a transport that was connected has lost connectivity and is being restarted. */
  onReconnecting: (reconnecting: boolean) => void;
  /** Media restarts keep failing (or media never connected): the app should fall back to text. */
  onMediaFailing: (failing: boolean) => void;
};

type Direction = 'send' | 'recv';

/** How often transport health is re-evaluated (restarts, reconnecting, text fallback). */
const HEALTH_CHECK_MS = 500;
/** A publishing transport that has received nothing for this long is stalled. */
const STALL_AFTER_MS = 2000;
/** Closed-before-created consumer ids remembered at most (a few per partner are expected). */
const MAX_CLOSED_EARLY = 32;

/**
 * mediasoup-client side of a user's media: device, one send and one receive transport kept
 * across partners, our producers (three VP8 simulcast layers plus Opus), the partner's
 * consumers, and the ICE restart policy. Operations run one at a time.
 */
export class MediaSession {
  readonly #signal: SignalingPort;
  readonly #events: MediaSessionEvents;
  /** Null where the browser (or a non-HTTPS page) cannot do WebRTC. */
  readonly #device: Device | null;
  readonly #transports = new Map<Direction, Transport>();
  readonly #producers = new Map<MediaKind, Producer>();
  readonly #consumers = new Map<string, Consumer>();
  /** Consumers the server closed before this page had created them (see `closeConsumer`). */
  readonly #closedEarly = new Set<string>();
  #localStream: MediaStream | null = null;
  #simulcast: SimulcastConfig | null = null;
  #iceServers: IceServer[] = [];
  #iceTransportPolicy: RTCIceTransportPolicy = 'all';
  #queue: Promise<unknown> = Promise.resolve();
  readonly #health = new MediaHealth();
  /** Directions whose current transport has been connected at least once. */
  readonly #everConnected = new Set<Direction>();
  readonly #healthTimer: ReturnType<typeof setInterval>;
  #reconnecting = false;
  #failing = false;
  /** Bytes the send transport had received, and when that number last grew. */
  #sendLiveness: { bytes: number; changedAt: number } | null = null;
  #statsBaseline: StatsBaseline = {};
  /** Kinds the user turned off (muted microphone, camera off): their producers stay paused. */
  readonly #disabled = new Set<MediaKind>();
  #closed = false;

  constructor(signal: SignalingPort, events: MediaSessionEvents) {
    this.#signal = signal;
    this.#events = events;
    this.#device = createDevice();
    this.#healthTimer = setInterval(() => this.#checkHealth(), HEALTH_CHECK_MS);
  }

  get sendTransport(): Transport | undefined {
    return this.#transports.get('send');
  }

  get recvTransport(): Transport | undefined {
    return this.#transports.get('recv');
  }

  /** Producer ids by kind (for tests and the status view). */
  get producerIds(): Partial<Record<MediaKind, string>> {
    return Object.fromEntries([...this.#producers].map(([kind, producer]) => [kind, producer.id]));
  }

  get failing(): boolean {
    return this.#failing;
  }

  /** False where WebRTC is unavailable: the app runs in text mode only. */
  get supported(): boolean {
    return this.#device !== null;
  }

  /**
   * Brings local media state in line with the server's after a hello: keeps transports,
   * producers and consumers the server still has, rebuilds the rest.
   */
  setup(hello: HelloResult, localStream: MediaStream | null): Promise<void> {
    return this.#serial(async () => {
      this.#simulcast = hello.simulcast;
      this.#iceServers = hello.iceServers;
      this.#iceTransportPolicy = hello.iceTransportPolicy;
      this.#localStream = localStream;
      const device = this.#device;
      if (!device) return;
      if (!device.loaded) await device.load({ routerRtpCapabilities: hello.routerRtpCapabilities });
      await this.#signal.request('setRtpCapabilities', { rtpCapabilities: device.rtpCapabilities });

      const { snapshot } = hello;
      await this.#reconcileTransport('recv', snapshot.transports.recv, true);
      await this.#reconcileTransport('send', snapshot.transports.send, this.#hasLocalTracks());

      const liveProducers = new Set(snapshot.producers.map((producer) => producer.producerId));
      for (const [kind, producer] of this.#producers) {
        if (!liveProducers.has(producer.id)) {
          producer.close();
          this.#producers.delete(kind);
        }
      }
      await this.#produceMissing();
      // A new session on the server does not know what the user turned off; a resumed one does (no harm).
      for (const kind of this.#disabled) {
        await this.#signal.request('setTrackEnabled', { kind, enabled: false }).catch(() => {});
      }

      const liveConsumers = new Set(snapshot.consumers.map((consumer) => consumer.consumerId));
      for (const id of [...this.#consumers.keys()]) {
        if (!liveConsumers.has(id)) this.#dropConsumer(id);
      }
      for (const consumer of snapshot.consumers) {
        if (!this.#consumers.has(consumer.consumerId)) await this.#consume(consumer);
      }
      this.#publishRemote();
      this.#checkHealth();
    });
  }

  /** Starts sending a (new) local stream, or stops sending with null. */
  setLocalStream(stream: MediaStream | null): Promise<void> {
    return this.#serial(async () => {
      this.#localStream = stream;
      for (const [kind, producer] of this.#producers) {
        await this.#signal.request('closeProducer', { producerId: producer.id }).catch(() => {});
        producer.close();
        this.#producers.delete(kind);
      }
      if (!this.#device?.loaded) return;
      await this.#reconcileTransport('send', this.sendTransport?.id ?? null, this.#hasLocalTracks());
      await this.#produceMissing();
    });
  }

  /**
   * Microphone muted / camera off (or back on) without renegotiating: the local producer pauses
   * (nothing is sent) and the server pauses its side and tells the partner.
   */
  setTrackEnabled(kind: MediaKind, enabled: boolean): Promise<void> {
    if (enabled) this.#disabled.delete(kind);
    else this.#disabled.add(kind);
    const producer = this.#producers.get(kind);
    if (producer && !producer.closed) {
      if (enabled) producer.resume();
      else producer.pause();
    }
    for (const track of this.#localTracks(kind)) track.enabled = enabled;
    return this.#signal.request('setTrackEnabled', { kind, enabled }).then(() => {});
  }

  /** True when the user turned this kind off. */
  isEnabled(kind: MediaKind): boolean {
    return !this.#disabled.has(kind);
  }

  /**
   * Another camera or microphone mid-call: the producer sends the new track in place of the old
   * one (no renegotiation, the partner keeps the same consumer). Without a producer yet, the
   * track is used by the next `produce`.
   */
  replaceTrack(stream: MediaStream, kind: MediaKind, track: MediaStreamTrack): Promise<void> {
    return this.#serial(async () => {
      track.enabled = !this.#disabled.has(kind);
      this.#localStream = stream;
      const producer = this.#producers.get(kind);
      if (producer && !producer.closed) {
        await producer.replaceTrack({ track });
        if (this.#disabled.has(kind) && !producer.paused) producer.pause();
        return;
      }
      if (!this.#device?.loaded) return;
      await this.#reconcileTransport('send', this.sendTransport?.id ?? null, this.#hasLocalTracks());
      await this.#produceMissing();
    });
  }

  /**
   * Resolves with `performance.now()` when the track `trackId` of the partner has its first
   * decoded frame; null when it is no longer shown or after `timeoutMs`.
   */
  async firstDecodedFrame(trackId: string, timeoutMs = 30_000): Promise<number | null> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#closed && performance.now() < deadline) {
      const consumer = [...this.#consumers.values()].find((item) => item.track.id === trackId);
      if (!consumer || consumer.closed) return null;
      const stats = await this.recvTransport?.getStats().catch(() => undefined);
      for (const stat of (stats?.values() ?? []) as IterableIterator<Record<string, unknown>>) {
        if (stat.type === 'inbound-rtp' && stat.trackIdentifier === trackId && Number(stat.framesDecoded) > 0) {
          return performance.now();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return null;
  }

  consume(notification: NotificationOf<'newConsumer'>): Promise<void> {
    return this.#serial(async () => {
      if (!this.#consumers.has(notification.consumerId)) await this.#consume(notification);
      this.#publishRemote();
    });
  }

  /**
   * The server closed a consumer. One not created yet (its `consume` still queued or under way)
   * is remembered, so that it is never created: it would stay in the remote stream as a dead
   * track, and the page would show it instead of the next partner's video.
   */
  closeConsumer(consumerId: string): void {
    if (!this.#consumers.has(consumerId)) {
      this.#closedEarly.add(consumerId);
      // Ids of consumers this page never heard of must not pile up.
      for (const oldest of this.#closedEarly) {
        if (this.#closedEarly.size <= MAX_CLOSED_EARLY) break;
        this.#closedEarly.delete(oldest);
      }
      return;
    }
    this.#dropConsumer(consumerId);
    this.#publishRemote();
  }

  /** The server lost our transports (worker failure): forget everything but the device. */
  reset(): void {
    for (const id of [...this.#consumers.keys()]) this.#dropConsumer(id);
    this.#closedEarly.clear();
    for (const producer of this.#producers.values()) producer.close();
    this.#producers.clear();
    for (const direction of [...this.#transports.keys()]) this.#closeTransport(direction);
    this.#publishRemote();
  }

  /** Applies a new layer table to the running video producer without renegotiation. */
  applySimulcast(simulcast: SimulcastConfig): Promise<void> {
    this.#simulcast = simulcast;
    const sender = this.#producers.get('video')?.rtpSender;
    if (!sender) return Promise.resolve();
    const parameters = sender.getParameters();
    parameters.encodings.forEach((encoding, index) => {
      const layer = simulcast.layers[index];
      if (!layer) return;
      encoding.active = layer.active;
      encoding.maxBitrate = layer.maxBitrate;
      encoding.maxFramerate = layer.maxFramerate;
      encoding.scaleResolutionDownBy = layer.scaleResolutionDownBy;
    });
    return sender.setParameters(parameters);
  }

  /** New TURN credentials: used by the next ICE restart and by any new transport. */
  updateIceServers(iceServers: IceServer[]): void {
    this.#iceServers = iceServers;
    for (const transport of this.#transports.values()) {
      void transport.updateIceServers({ iceServers }).catch(() => {});
    }
  }

  /** ICE restart of every transport now (the network changed: new interface, new address). */
  restartAll(): Promise<void> {
    return this.#serial(async () => {
      for (const direction of this.#transports.keys()) {
        this.#health.restarted(direction, Date.now());
        await this.#restartIce(direction);
      }
    });
  }

  /** Network figures for the periodic quality report. */
  async qualityReport(): Promise<QualityReport> {
    const video = [...this.#consumers.values()].find((consumer) => consumer.kind === 'video' && !consumer.closed);
    const { report, baseline } = collectQualityReport(
      await this.recvTransport?.getStats().catch(() => undefined),
      await this.sendTransport?.getStats().catch(() => undefined),
      this.#statsBaseline,
      video?.track.id,
    );
    this.#statsBaseline = baseline;
    return report;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reset();
    clearInterval(this.#healthTimer);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #hasLocalTracks(): boolean {
    return (this.#localStream?.getTracks().length ?? 0) > 0;
  }

  #localTracks(kind: MediaKind): MediaStreamTrack[] {
    const stream = this.#localStream;
    if (!stream) return [];
    return kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks();
  }

  async #reconcileTransport(direction: Direction, serverId: string | null, wanted: boolean): Promise<void> {
    const local = this.#transports.get(direction);
    if (local && (local.id !== serverId || !wanted || local.closed)) this.#closeTransport(direction);
    if (!wanted) return;
    const kept = this.#transports.get(direction);
    if (kept) {
      if (kept.connectionState !== 'connected') await this.#restartIce(direction);
      return;
    }
    const device = this.#device;
    if (!device) return;
    const { warmup, ...info } = await this.#signal.request('createTransport', { direction });
    const options = { ...info, iceServers: this.#iceServers, iceTransportPolicy: this.#iceTransportPolicy };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#signal.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(callback, errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
        this.#signal
          .request('produce', { transportId: transport.id, kind, rtpParameters })
          .then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => {
      if (this.#transports.get(direction) !== transport) return;
      if (state === 'connected') this.#everConnected.add(direction);
      this.#checkHealth();
    });
    this.#transports.set(direction, transport);
    // Opening the server's warm-up channel makes the browser connect the receive transport now
    // (ICE, DTLS), not on the partner's first consumer: the first match starts as fast as a later one.
    if (warmup) void transport.consumeData(warmup).catch(() => {});
  }

  #closeTransport(direction: Direction): void {
    const transport = this.#transports.get(direction);
    if (!transport) return;
    this.#transports.delete(direction);
    this.#everConnected.delete(direction);
    this.#health.forget(direction);
    transport.close();
    if (direction === 'recv') for (const id of [...this.#consumers.keys()]) this.#dropConsumer(id);
    else this.#producers.clear();
  }

  async #produceMissing(): Promise<void> {
    const transport = this.sendTransport;
    const stream = this.#localStream;
    if (!transport || !stream) return;
    const audioTrack = stream.getAudioTracks()[0];
    if (audioTrack && !this.#producers.has('audio')) {
      const producer = await transport.produce({ track: audioTrack, stopTracks: false });
      if (this.#disabled.has('audio')) producer.pause();
      this.#producers.set('audio', producer);
    }
    const videoTrack = stream.getVideoTracks()[0];
    if (videoTrack && !this.#producers.has('video')) {
      const layers = this.#simulcast?.layers ?? [];
      const producer = await transport.produce({
        track: videoTrack,
        stopTracks: false,
        // Three VP8 simulcast encodings, each with three temporal layers the SFU can pick from.
        encodings: layers.map((layer) => ({
          active: layer.active,
          maxBitrate: layer.maxBitrate,
          maxFramerate: layer.maxFramerate,
          scaleResolutionDownBy: layer.scaleResolutionDownBy,
          scalabilityMode: 'L1T3',
        })),
        codecOptions: { videoGoogleStartBitrate: 1000 },
      });
      if (this.#disabled.has('video')) producer.pause();
      this.#producers.set('video', producer);
    }
  }

  async #consume(notification: NotificationOf<'newConsumer'>): Promise<void> {
    const transport = this.recvTransport;
    // The server closed it while it waited its turn (the partner pressed Next at once).
    if (!transport || this.#closedEarly.delete(notification.consumerId)) return;
    const consumer = await transport.consume({
      id: notification.consumerId,
      producerId: notification.producerId,
      kind: notification.kind,
      rtpParameters: notification.rtpParameters,
    });
    // …or while it was being created.
    if (this.#closedEarly.delete(consumer.id)) {
      consumer.close();
      return;
    }
    this.#consumers.set(consumer.id, consumer);
    // Not awaited: the next consumer (audio and video arrive together) need not wait for this round trip.
    void this.#signal.request('resumeConsumer', { consumerId: consumer.id }).catch(() => {});
  }

  #dropConsumer(consumerId: string): void {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) return;
    this.#consumers.delete(consumerId);
    consumer.close();
  }

  #publishRemote(): void {
    const tracks = [...this.#consumers.values()].map((consumer) => consumer.track);
    this.#events.onRemoteStream(tracks.length > 0 ? new MediaStream(tracks) : null);
  }

  /** Applies the health policy: ICE restarts, the reconnecting flag, text fallback. */
  #checkHealth(): void {
    if (this.#closed) return;
    void this.#sampleSendLiveness();
    const now = Date.now();
    const sendStalled = this.#sendLiveness !== null && now - this.#sendLiveness.changedAt >= STALL_AFTER_MS;
    const views = [...this.#transports].map(([direction, transport]) => ({
      direction,
      state: transport.connectionState,
      carrying: direction === 'send' ? this.#producers.size > 0 : this.#consumers.size > 0,
      everConnected: this.#everConnected.has(direction),
      // Both transports share the network: when the send path goes silent, treat both as broken.
      stalled: sendStalled,
    }));
    const decision = this.#health.evaluate(views, now);
    for (const direction of decision.restart) void this.#serial(() => this.#restartIce(direction));
    if (decision.reconnecting !== this.#reconnecting) {
      this.#reconnecting = decision.reconnecting;
      this.#events.onReconnecting(decision.reconnecting);
    }
    if (decision.failing !== this.#failing) {
      this.#failing = decision.failing;
      this.#events.onMediaFailing(decision.failing);
    }
  }

  /** Tracks whether anything still arrives on the send transport (congestion feedback, RTCP). */
  async #sampleSendLiveness(): Promise<void> {
    const transport = this.sendTransport;
    if (!transport || this.#producers.size === 0 || transport.connectionState !== 'connected') {
      this.#sendLiveness = null;
      return;
    }
    const stats = await transport.getStats().catch(() => undefined);
    let bytes = 0;
    for (const stat of stats?.values() ?? []) {
      if (stat.type === 'transport' && typeof stat.bytesReceived === 'number') bytes += stat.bytesReceived;
    }
    const now = Date.now();
    if (!this.#sendLiveness || bytes !== this.#sendLiveness.bytes) this.#sendLiveness = { bytes, changedAt: now };
  }

  async #restartIce(direction: Direction): Promise<void> {
    const transport = this.#transports.get(direction);
    if (!transport || transport.closed) return;
    try {
      const { iceParameters } = await this.#signal.request('restartIce', { transportId: transport.id });
      await transport.restartIce({ iceParameters });
    } catch {
      // Signaling is down: the health check tries again, and so does the resume.
    }
  }
}

/** The mediasoup-client device, or null where this browser or page cannot do WebRTC. */
function createDevice(): Device | null {
  try {
    return new Device();
  } catch {
    return null;
  }
}
