import { type NotificationOf, rtpParametersSchema } from '@meetopia/protocol';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { PipeLease, ProducerPipes } from './ProducerPipes.js';
import { RemoteMedia, type RemoteProducer } from './RemoteMedia.js';
import type { UserMedia } from './UserMedia.js';

/** One side of a pair, as the media layer needs it. */
export type MediaPeer = {
  /** This instance's user's media, or that of a partner on another instance. */
  readonly media: UserMedia | RemoteMedia;
  /** Tells this side's client about consumers. Dropped while the client is away; the resume snapshot covers it. */
  notify(message: NotificationOf<'newConsumer'> | NotificationOf<'consumerClosed'>): void;
};

/** A producer of one side delivered to the other side. */
type Link<Peer extends MediaPeer> = {
  sender: Peer;
  receiver: Peer;
  producerId: string;
  consumer: types.Consumer;
  /** Set when sender and receiver are on different workers. */
  pipe: PipeLease | undefined;
};

export type PairMediaOptions<Peer extends MediaPeer> = {
  /** Warm pipes between workers' routers, shared with other pairs. */
  pipes: ProducerPipes;
  /** Called for every new video consumer, so layer adaptation can take it over. */
  onVideoConsumer?: (consumer: types.Consumer, receiver: Peer, producer: types.Producer) => void;
};

/**
 * Routes the media of a pair: every producer of one side is consumed on the other side's
 * receive transport. A side on another instance gets this side's producers announced instead
 * (its instance consumes them), and its producers are piped in from there. `sync()` is idempotent and serialised, so it can be called whenever
 * something changes (pair formed, producer added, receive side ready, resume).
 */
export class PairMedia<Peer extends MediaPeer = MediaPeer> {
  readonly #sides: readonly [Peer, Peer];
  readonly #options: PairMediaOptions<Peer>;
  readonly #logger: Logger;
  /** Links by `${receiverIndex}:${producerId}`. */
  readonly #links = new Map<string, Link<Peer>>();
  /** Serialises sync runs so that one producer never gets two consumers. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(a: Peer, b: Peer, options: PairMediaOptions<Peer>, logger: Logger) {
    this.#sides = [a, b];
    this.#options = options;
    this.#logger = logger;
  }

  /** Consumers that exist for this side (for the resume snapshot). */
  consumersFor(peer: MediaPeer): Array<{ consumer: types.Consumer; producerId: string }> {
    return [...this.#links.values()]
      .filter((link) => link.receiver === peer)
      .map(({ consumer, producerId }) => ({ consumer, producerId }));
  }

  /** Creates whatever consumers are missing. Resolves when done; never rejects. */
  sync(): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#syncNow())
      .catch((error: unknown) => {
        this.#logger.error({ err: error }, 'media sync failed');
      });
    return this.#queue;
  }

  /** Closes the consumers of one side's producers (that side's media is gone; each receiver is told). */
  dropFrom(sender: Peer): void {
    for (const link of [...this.#links.values()]) if (link.sender === sender) link.consumer.close();
  }

  /** Closes every consumer and pipe of this pair (each receiver is told). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of [...this.#links.values()]) link.consumer.close();
    this.#links.clear();
  }

  async #syncNow(): Promise<void> {
    for (const [senderIndex, receiverIndex] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const sender = this.#sides[senderIndex];
      const receiver = this.#sides[receiverIndex];
      const { media } = receiver;
      if (this.#closed || sender.media.closed || media.closed) continue;
      if (media instanceof RemoteMedia) {
        if (!(sender.media instanceof RemoteMedia)) media.offer(sender.media.producers);
        continue;
      }
      if (!media.canConsume) continue;
      // Video first: the partner's first picture waits for its consumer, a key frame and a
      // decode, while sound starts with any packet (the audio consumer follows a moment later).
      for (const producer of videoFirst<types.Producer | RemoteProducer>(sender.media.producers)) {
        const key = `${receiverIndex}:${producer.id}`;
        if (this.#links.has(key) || producer.closed) continue;
        await this.#link(key, producer, sender, receiver, media);
      }
    }
  }

  async #link(
    key: string,
    producer: types.Producer | RemoteProducer,
    sender: Peer,
    receiver: Peer,
    media: UserMedia,
  ): Promise<void> {
    // On another worker or instance the producer is piped in under the same id (kept warm for
    // later pairs). Layer adaptation reads the producer's layers where it is closest to its source.
    let pipe: PipeLease | undefined;
    let source: types.Producer;
    if (sender.media instanceof RemoteMedia) {
      pipe = await sender.media.bring(producer.id, media.router);
      source = pipe.producer;
    } else {
      source = producer as types.Producer;
      if (sender.media.router !== media.router)
        pipe = await this.#options.pipes.acquire(source, sender.media.router, media.router);
    }
    const closePipe = () => pipe?.release();
    const consumer = await media.consume(producer.id, {
      preferredLayers: { spatialLayer: 2, temporalLayer: 2 },
    });
    if (!consumer) {
      closePipe();
      return;
    }
    if (this.#closed || source.closed || consumer.closed) {
      consumer.close();
      closePipe();
      return;
    }
    this.#links.set(key, { sender, receiver, producerId: producer.id, consumer, pipe });
    consumer.observer.once('close', () => {
      this.#links.delete(key);
      closePipe();
      receiver.notify({ type: 'consumerClosed', consumerId: consumer.id });
    });
    receiver.notify({
      type: 'newConsumer',
      consumerId: consumer.id,
      producerId: producer.id,
      kind: consumer.kind,
      rtpParameters: rtpParametersSchema.parse(consumer.rtpParameters),
    });
    if (consumer.kind === 'video') this.#options.onVideoConsumer?.(consumer, receiver, source);
  }
}

function videoFirst<P extends { kind: types.MediaKind }>(producers: readonly P[]): P[] {
  return [...producers].sort((a, b) => Number(a.kind === 'audio') - Number(b.kind === 'audio'));
}
