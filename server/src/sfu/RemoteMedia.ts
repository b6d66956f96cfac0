import type { types } from 'mediasoup';
import { RelayTimeoutError } from '../store/InstanceRelay.js';
import type { InstancePipes } from './InstancePipes.js';
import type { PipeLease } from './ProducerPipes.js';

/** Times a pipe request is sent before a slow partner instance is given up on for now. */
const BRING_ATTEMPTS = 3;

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
  readonly #pipes: Pick<InstancePipes, 'acquire'>;
  readonly #announce: (producers: RemoteProducer[]) => void;
  #producers: RemoteProducer[] = [];
  /** What was last announced (so that a sync without a change sends nothing). */
  #announced: string | undefined;
  #closed = false;

  constructor(
    instance: string,
    pipes: Pick<InstancePipes, 'acquire'>,
    announce: (producers: RemoteProducer[]) => void,
  ) {
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

  /**
   * Pipes one of the partner's producers into `to`. Rejects when their instance no longer has it
   * (then it is not consumed again until they announce it anew) or did not answer in time,
   * several times (then it stays: the next sync asks again).
   */
  async bring(producerId: string, to: types.Router): Promise<PipeLease> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#pipes.acquire(this.instance, producerId, to);
      } catch (error) {
        if (!(error instanceof RelayTimeoutError)) {
          this.#producers = this.#producers.filter((producer) => producer.id !== producerId);
          throw error;
        }
        // Their instance was slow (busy, or its inbox behind a Redis reconnect): ask again.
        if (attempt >= BRING_ATTEMPTS || this.#closed) throw error;
      }
    }
  }

  close(): void {
    this.#closed = true;
  }
}
