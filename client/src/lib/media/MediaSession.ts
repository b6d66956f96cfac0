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

/** Wait this long in `disconnected` before restarting ICE (it often recovers by itself). */
const DISCONNECTED_GRACE_MS = 2000;
/** Failed restarts in a row after which media counts as failing. */
const FAILING_AFTER_RESTARTS = 2;
/** Media that has not connected this long after setup counts as failing. */
const CONNECT_DEADLINE_MS = 8000;
/** Period of background ICE restarts while media is failing. */
const BACKGROUND_RETRY_MS = 5000;

/**
 * mediasoup-client side of a user's media: device, one send and one receive transport kept
 * across partners, our producers (three VP8 simulcast layers plus Opus), the partner's
 * consumers, and the ICE restart policy. Operations run one at a time.
 */
export class MediaSession {
  readonly #signal: SignalingPort;
  readonly #events: MediaSessionEvents;
  readonly #device = new Device();
  readonly #transports = new Map<Direction, Transport>();
  readonly #producers = new Map<MediaKind, Producer>();
  readonly #consumers = new Map<string, Consumer>();
  #localStream: MediaStream | null = null;
  #simulcast: SimulcastConfig | null = null;
  #iceServers: IceServer[] = [];
  #iceTransportPolicy: RTCIceTransportPolicy = 'all';
  #queue: Promise<unknown> = Promise.resolve();
  /** Per direction: the pending `disconnected` grace timer. */
  readonly #graceTimers = new Map<Direction, ReturnType<typeof setTimeout>>();
  #failedRestarts = 0;
  #failing = false;
  #connectDeadline: ReturnType<typeof setTimeout> | undefined;
  #backgroundRetry: ReturnType<typeof setInterval> | undefined;
  #statsBaseline: StatsBaseline = {};
  #closed = false;

  constructor(signal: SignalingPort, events: MediaSessionEvents) {
    this.#signal = signal;
    this.#events = events;
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
      if (!this.#device.loaded) await this.#device.load({ routerRtpCapabilities: hello.routerRtpCapabilities });
      await this.#signal.request('setRtpCapabilities', { rtpCapabilities: this.#device.rtpCapabilities });

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

      const liveConsumers = new Set(snapshot.consumers.map((consumer) => consumer.consumerId));
      for (const id of [...this.#consumers.keys()]) {
        if (!liveConsumers.has(id)) this.#dropConsumer(id);
      }
      for (const consumer of snapshot.consumers) {
        if (!this.#consumers.has(consumer.consumerId)) await this.#consume(consumer);
      }
      this.#publishRemote();
      this.#armConnectDeadline();
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
      if (!this.#device.loaded) return;
      await this.#reconcileTransport('send', this.sendTransport?.id ?? null, this.#hasLocalTracks());
      await this.#produceMissing();
    });
  }

  consume(notification: NotificationOf<'newConsumer'>): Promise<void> {
    return this.#serial(async () => {
      if (!this.#consumers.has(notification.consumerId)) await this.#consume(notification);
      this.#publishRemote();
    });
  }

  closeConsumer(consumerId: string): void {
    this.#dropConsumer(consumerId);
    this.#publishRemote();
  }

  /** The server lost our transports (worker failure): forget everything but the device. */
  reset(): void {
    for (const id of [...this.#consumers.keys()]) this.#dropConsumer(id);
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

  /** ICE restart of every transport now (network changed, or resuming after a socket drop). */
  restartAll(): Promise<void> {
    return this.#serial(async () => {
      for (const direction of this.#transports.keys()) await this.#restartIce(direction);
    });
  }

  /** Network figures for the periodic quality report. */
  async qualityReport(): Promise<QualityReport> {
    const { report, baseline } = await collectQualityReport(
      await this.recvTransport?.getStats().catch(() => undefined),
      await this.sendTransport?.getStats().catch(() => undefined),
      this.#statsBaseline,
    );
    this.#statsBaseline = baseline;
    return report;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reset();
    clearTimeout(this.#connectDeadline);
    clearInterval(this.#backgroundRetry);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #hasLocalTracks(): boolean {
    return (this.#localStream?.getTracks().length ?? 0) > 0;
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
    const info = await this.#signal.request('createTransport', { direction });
    const options = { ...info, iceServers: this.#iceServers, iceTransportPolicy: this.#iceTransportPolicy };
    const transport =
      direction === 'send' ? this.#device.createSendTransport(options) : this.#device.createRecvTransport(options);
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
    transport.on('connectionstatechange', (state) => this.#onConnectionState(direction, transport, state));
    this.#transports.set(direction, transport);
  }

  #closeTransport(direction: Direction): void {
    const transport = this.#transports.get(direction);
    if (!transport) return;
    this.#transports.delete(direction);
    clearTimeout(this.#graceTimers.get(direction));
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
      this.#producers.set('audio', await transport.produce({ track: audioTrack, stopTracks: false }));
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
      this.#producers.set('video', producer);
    }
  }

  async #consume(notification: NotificationOf<'newConsumer'>): Promise<void> {
    const transport = this.recvTransport;
    if (!transport) return;
    const consumer = await transport.consume({
      id: notification.consumerId,
      producerId: notification.producerId,
      kind: notification.kind,
      rtpParameters: notification.rtpParameters,
    });
    this.#consumers.set(consumer.id, consumer);
    await this.#signal.request('resumeConsumer', { consumerId: consumer.id });
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

  #onConnectionState(direction: Direction, transport: Transport, state: RTCPeerConnectionState): void {
    if (this.#transports.get(direction) !== transport) return;
    clearTimeout(this.#graceTimers.get(direction));
    if (state === 'connected') {
      this.#failedRestarts = 0;
      this.#setFailing(false);
      this.#updateReconnecting();
      if ([...this.#transports.values()].every((t) => t.connectionState === 'connected')) {
        clearTimeout(this.#connectDeadline);
      }
      return;
    }
    this.#updateReconnecting();
    if (state === 'disconnected') {
      this.#graceTimers.set(
        direction,
        setTimeout(() => void this.#serial(() => this.#restartIce(direction)), DISCONNECTED_GRACE_MS),
      );
    } else if (state === 'failed') {
      this.#failedRestarts += 1;
      if (this.#failedRestarts >= FAILING_AFTER_RESTARTS) this.#setFailing(true);
      void this.#serial(() => this.#restartIce(direction));
    }
  }

  async #restartIce(direction: Direction): Promise<void> {
    const transport = this.#transports.get(direction);
    if (!transport || transport.closed) return;
    try {
      const { iceParameters } = await this.#signal.request('restartIce', { transportId: transport.id });
      await transport.restartIce({ iceParameters });
    } catch {
      // Signaling is down: the resume after reconnection restarts ICE again.
    }
  }

  #updateReconnecting(): void {
    const reconnecting = [...this.#transports.values()].some(
      (transport) => transport.connectionState === 'disconnected' || transport.connectionState === 'failed',
    );
    this.#events.onReconnecting(reconnecting);
  }

  #armConnectDeadline(): void {
    clearTimeout(this.#connectDeadline);
    if ([...this.#transports.values()].every((transport) => transport.connectionState === 'connected')) return;
    this.#connectDeadline = setTimeout(() => {
      const stuck = [...this.#transports.values()].some((transport) => transport.connectionState !== 'connected');
      // Only a transport that carries media matters: an idle receive transport has nothing to connect for.
      const carrying = this.#producers.size > 0 || this.#consumers.size > 0;
      if (stuck && carrying) this.#setFailing(true);
    }, CONNECT_DEADLINE_MS);
  }

  #setFailing(failing: boolean): void {
    if (failing === this.#failing) return;
    this.#failing = failing;
    clearInterval(this.#backgroundRetry);
    if (failing) {
      // Keep trying in the background: when a restart succeeds, `connected` clears the failure.
      this.#backgroundRetry = setInterval(() => void this.restartAll(), BACKGROUND_RETRY_MS);
    }
    this.#events.onMediaFailing(failing);
  }
}
