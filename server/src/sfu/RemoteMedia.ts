import type { types } from 'mediasoup';
import type { InstancePipes } from './InstancePipes.js';
import type { PipeLease } from './ProducerPipes.js';

/** A producer of a partner on another instance, as that instance announced it. */
export type RemoteProducer = { readonly id: string; readonly kind: types.MediaKind; readonly closed: false };

/**
 * The media of a partner who is on another instance, as this instance's half of the pair sees
 * it: the producers that instance announced (brought here through `InstancePipes` when consumed),
 * and the announcement of this side's producers to it. Consumers for that partner are made on
 * their own instance.
 */
export class RemoteMedia {
  readonly instance: string;
  readonly #pipes: InstancePipes;
  readonly #announce: (producers: RemoteProducer[]) => void;
  #producers: RemoteProducer[] = [];
  /** What was last announced (so that a sync without a change sends nothing). */
  #announced: string | undefined;
  #closed = false;

  constructor(instance: string, pipes: InstancePipes, announce: (producers: RemoteProducer[]) => void) {
    this.instance = instance;
    this.#pipes = pipes;
    this.#announce = announce;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get producers(): readonly RemoteProducer[] {
    return this.#producers;
  }

  /** The partner's instance announced their producers. */
  setProducers(producers: ReadonlyArray<{ id: string; kind: types.MediaKind }>): void {
    this.#producers = producers.map(({ id, kind }) => ({ id, kind, closed: false }));
  }

  /** Tells the partner's instance which producers this side has (only when they changed). */
  offer(producers: readonly types.Producer[]): void {
    if (this.#closed) return;
    const list = producers
      .filter((producer) => !producer.closed)
      .map(({ id, kind }) => ({ id, kind, closed: false as const }));
    const key = list.map(({ id }) => id).join(',');
    if (key === this.#announced) return;
    this.#announced = key;
    this.#announce(list);
  }

  /** Pipes one of the partner's producers into `to` (rejects when their instance no longer has it). */
  async bring(producerId: string, to: types.Router): Promise<PipeLease> {
    try {
      return await this.#pipes.acquire(this.instance, producerId, to);
    } catch (error) {
      // Gone on their side meanwhile: not consumed again until they announce it anew.
      this.#producers = this.#producers.filter((producer) => producer.id !== producerId);
      throw error;
    }
  }

  close(): void {
    this.#closed = true;
  }
}
