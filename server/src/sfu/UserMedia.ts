import { EventEmitter } from 'node:events';
import {
  ErrorCode,
  ProtocolError,
  type TransportInfo,
  transportInfoSchema,
  type WarmupChannel,
} from '@meetopia/protocol';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { TransportLimits } from './transportLimits.js';
import type { MediaWorker } from './WorkerPool.js';

export type Direction = 'send' | 'recv';

/**
 * Chrome's encoder ignores a key frame request that comes within 300 ms of the previous one;
 * mediasoup then re-asks only after a second, and the new partner's video starts ~1 s late.
 * With this delay mediasoup holds such a request and sends it once the window has passed.
 */
export const KEY_FRAME_REQUEST_DELAY_MS = 350;

/** SCTP settings of a receive transport: the warm-up channel never carries a message. */
const WARMUP_SCTP = {
  enableSctp: true,
  maxSendMessageSize: 1024,
  maxReceiveMessageSize: 1024,
  sctpSendBufferSize: 16 * 1024,
  sctpMaxReceiverWindowBufferSize: 64 * 1024,
} as const;

type UserMediaEvents = {
  /** A producer appeared (the partner's side should consume it). */
  producer: [types.Producer];
  /** The receive side became able to consume (transport and RTP capabilities both present). */
  readyToConsume: [];
  /** A transport's ICE state changed; `connected` is true when every transport is usable. */
  iceState: [{ direction: Direction; state: types.IceState; allConnected: boolean }];
};

/**
 * One user's media on the SFU: a send and a receive WebRTC transport (kept across matches, so
 * that Next only swaps producers and consumers, with no new ICE or DTLS), their producers, and
 * the consumers of their current partner's media.
 */
export class UserMedia extends EventEmitter<UserMediaEvents> {
  readonly worker: MediaWorker;
  readonly #logger: Logger;
  /** Bitrate limits of the transports, updated live by the admin. */
  #limits: TransportLimits;
  readonly #transports = new Map<Direction, types.WebRtcTransport>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  /** Kinds the user turned off (muted microphone, camera off). */
  readonly #pausedKinds = new Set<types.MediaKind>();
  #rtpCapabilities: types.RtpCapabilities | undefined;
  #closed = false;

  constructor(worker: MediaWorker, limits: TransportLimits, logger: Logger) {
    super();
    this.worker = worker;
    this.#limits = limits;
    this.#logger = logger;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get router(): types.Router {
    return this.worker.router;
  }

  get producers(): types.Producer[] {
    return [...this.#producers.values()];
  }

  get consumers(): types.Consumer[] {
    return [...this.#consumers.values()];
  }

  transport(direction: Direction): types.WebRtcTransport | undefined {
    return this.#transports.get(direction);
  }

  /** Can consume: has a receive transport and the device's RTP capabilities. */
  get canConsume(): boolean {
    return this.#transports.has('recv') && this.#rtpCapabilities !== undefined;
  }

  setRtpCapabilities(rtpCapabilities: types.RtpCapabilities): void {
    this.#assertOpen();
    const wasReady = this.canConsume;
    this.#rtpCapabilities = rtpCapabilities;
    if (!wasReady && this.canConsume) this.emit('readyToConsume');
  }

  /** Creates the transport for a direction, replacing (and closing) an earlier one. */
  async createTransport(direction: Direction): Promise<TransportInfo> {
    this.#assertOpen();
    const transport = await this.router.createWebRtcTransport({
      webRtcServer: this.worker.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.#limits.initialAvailableOutgoingBitrate,
      appData: { direction },
      // SCTP only for the receive transport's warm-up channel, which never carries a message:
      // small buffers.
      ...(direction === 'recv' ? WARMUP_SCTP : {}),
    });
    if (this.#closed) {
      transport.close();
      throw new ProtocolError(ErrorCode.OutOfOrder, 'session closed');
    }
    if (direction === 'send') await transport.setMaxIncomingBitrate(this.#limits.maxIncomingBitrate);
    else await transport.setMinOutgoingBitrate(this.#limits.minOutgoingBitrate);
    this.#transports.get(direction)?.close();
    this.#transports.set(direction, transport);
    transport.on('icestatechange', (state) => {
      this.emit('iceState', { direction, state, allConnected: this.iceConnected });
    });
    if (direction === 'recv') {
      // A new path (an ICE restart moved the media, say from UDP to TCP): the pictures sent
      // over the old one were lost, so ask the partner for a key frame now rather than wait
      // for the browser's own request.
      let pathKnown = false;
      transport.on('iceselectedtuplechange', () => {
        if (pathKnown) this.#requestKeyFrames();
        pathKnown = true;
      });
    }
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') this.#logger.warn({ direction, state }, 'DTLS state');
    });
    transport.observer.on('close', () => {
      if (this.#transports.get(direction) === transport) this.#transports.delete(direction);
    });
    const warmup = direction === 'recv' ? await this.#warmupChannel(transport) : undefined;
    if (direction === 'recv' && this.canConsume) this.emit('readyToConsume');
    return transportInfoSchema.parse({
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
      ...(warmup && transport.sctpParameters
        ? {
            sctpParameters: {
              port: transport.sctpParameters.port,
              OS: transport.sctpParameters.OS,
              MIS: transport.sctpParameters.MIS,
              maxMessageSize: transport.sctpParameters.maxMessageSize,
              maxSendMessageSize: transport.sctpParameters.maxSendMessageSize,
              maxReceiveMessageSize: transport.sctpParameters.maxReceiveMessageSize,
            },
            warmup,
          }
        : {}),
    });
  }

  /** The worker's warm-up data producer consumed on a new receive transport (see `warmupChannelSchema`). */
  async #warmupChannel(transport: types.WebRtcTransport): Promise<WarmupChannel | undefined> {
    // Without it the transport still works: it connects on the first consumer, as it used to.
    const dataConsumer = await transport.consumeData({ dataProducerId: this.worker.warmup.id }).catch((error) => {
      this.#logger.warn({ err: error }, 'no warm-up channel for a receive transport');
      return undefined;
    });
    const sctpStreamParameters = dataConsumer?.sctpStreamParameters;
    if (!dataConsumer || !sctpStreamParameters) return undefined;
    return {
      id: dataConsumer.id,
      dataProducerId: dataConsumer.dataProducerId,
      sctpStreamParameters: { streamId: sctpStreamParameters.streamId, ordered: sctpStreamParameters.ordered ?? true },
      label: dataConsumer.label,
    };
  }

  #requestKeyFrames(): void {
    for (const consumer of this.#consumers.values()) {
      if (consumer.kind === 'video') void consumer.requestKeyFrame().catch(() => {});
    }
  }

  /** True when every existing transport has ICE connected (or there are none). */
  get iceConnected(): boolean {
    return [...this.#transports.values()].every(
      (transport) => transport.iceState === 'connected' || transport.iceState === 'completed',
    );
  }

  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.#ownTransport(transportId);
    if (transport.dtlsState !== 'new') {
      throw new ProtocolError(ErrorCode.OutOfOrder, 'transport is already connected');
    }
    await mediaCall(() => transport.connect({ dtlsParameters }));
  }

  async restartIce(transportId: string): Promise<types.IceParameters> {
    const transport = this.#ownTransport(transportId);
    return mediaCall(() => transport.restartIce());
  }

  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
  ): Promise<types.Producer> {
    const transport = this.#ownTransport(transportId);
    if (transport !== this.#transports.get('send')) {
      throw new ProtocolError(ErrorCode.OutOfOrder, 'produce needs the send transport');
    }
    if (this.producers.some((producer) => producer.kind === kind)) {
      throw new ProtocolError(ErrorCode.OutOfOrder, `already producing ${kind}; close that producer first`);
    }
    const producer = await mediaCall(() =>
      transport.produce({
        kind,
        rtpParameters,
        keyFrameRequestDelay: KEY_FRAME_REQUEST_DELAY_MS,
        paused: this.#pausedKinds.has(kind),
      }),
    );
    if (this.#closed) {
      producer.close();
      throw new ProtocolError(ErrorCode.OutOfOrder, 'session closed');
    }
    this.#producers.set(producer.id, producer);
    producer.observer.on('close', () => this.#producers.delete(producer.id));
    this.#traceKeyFrames(producer, { producerId: producer.id, kind });
    this.emit('producer', producer);
    return producer;
  }

  /**
   * Pauses or resumes this user's producer of a kind (microphone muted, camera off): consumers
   * stop getting packets without any renegotiation. Remembered for a producer created later.
   */
  async setProducerPaused(kind: types.MediaKind, paused: boolean): Promise<void> {
    if (paused) this.#pausedKinds.add(kind);
    else this.#pausedKinds.delete(kind);
    for (const producer of this.#producers.values()) {
      if (producer.kind !== kind || producer.closed) continue;
      await mediaCall(() => (paused ? producer.pause() : producer.resume()));
    }
  }

  closeProducer(producerId: string): void {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new ProtocolError(ErrorCode.UnknownId, `no producer ${producerId} in this session`);
    producer.close();
  }

  /** Creates a paused consumer of a producer living on this user's router; the client resumes it. */
  async consume(
    producerId: string,
    options: { preferredLayers?: types.ConsumerLayers } = {},
  ): Promise<types.Consumer | null> {
    const transport = this.#transports.get('recv');
    const rtpCapabilities = this.#rtpCapabilities;
    if (!transport || !rtpCapabilities || !this.router.canConsume({ producerId, rtpCapabilities })) return null;
    const consumer = await transport.consume({
      producerId,
      rtpCapabilities,
      paused: true,
      ...(options.preferredLayers ? { preferredLayers: options.preferredLayers } : {}),
    });
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => this.#consumers.delete(consumer.id));
    this.#traceKeyFrames(consumer, { consumerId: consumer.id, kind: consumer.kind });
    if (this.#logger.isLevelEnabled('trace')) {
      this.#logger.trace({ consumerId: consumer.id, producerId, kind: consumer.kind }, 'consumer created');
      consumer.on('layerschange', (layers) =>
        this.#logger.trace({ consumerId: consumer.id, layers }, 'consumer layers'),
      );
    }
    return consumer;
  }

  async resumeConsumer(consumerId: string): Promise<void> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) throw new ProtocolError(ErrorCode.UnknownId, `no consumer ${consumerId} in this session`);
    await mediaCall(() => consumer.resume());
  }

  /** Applies new bitrate limits to the live transports, and to those created later. */
  async setLimits(limits: TransportLimits): Promise<void> {
    this.#limits = limits;
    await this.#transports.get('send')?.setMaxIncomingBitrate(limits.maxIncomingBitrate);
    await this.#transports.get('recv')?.setMinOutgoingBitrate(limits.minOutgoingBitrate);
  }

  /** Closes every transport (and with them producers and consumers). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
    this.removeAllListeners();
  }

  /** At LOG_LEVEL=trace, logs mediasoup's key frame, PLI and FIR events (for debugging video start-up). */
  #traceKeyFrames(entity: types.Producer | types.Consumer, bindings: Record<string, string>): void {
    if (!this.#logger.isLevelEnabled('trace') || entity.kind !== 'video') return;
    void entity.enableTraceEvent(['keyframe', 'pli', 'fir']).catch(() => {});
    const log = (trace: types.ProducerTraceEventData | types.ConsumerTraceEventData) =>
      this.#logger.trace({ ...bindings, trace }, 'media trace');
    if ('producerId' in entity) entity.on('trace', log);
    else entity.on('trace', log);
  }

  #ownTransport(transportId: string): types.WebRtcTransport {
    this.#assertOpen();
    for (const transport of this.#transports.values()) {
      if (transport.id === transportId) return transport;
    }
    throw new ProtocolError(ErrorCode.UnknownId, `no transport ${transportId} in this session`);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ProtocolError(ErrorCode.OutOfOrder, 'media for this session is closed');
  }
}

/** Runs a mediasoup call whose failure is the client's doing (bad parameters, wrong state): it becomes a media-error reply. */
async function mediaCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ProtocolError(ErrorCode.MediaError, error instanceof Error ? error.message : String(error));
  }
}
