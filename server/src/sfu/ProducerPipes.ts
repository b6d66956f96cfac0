import type { types } from 'mediasoup';

export type ProducerPipesOptions = {
  /** Loopback port range for the pipe transports between this process's workers. */
  portRange: { min: number; max: number };
  /** How long an unused pipe is kept warm before it is closed. */
  idleMs: number;
};

/** A pipe's far end: the producer as the receiving router has it, and how to take it down. */
export type OpenPipe = { producer: types.Producer; close(): void };

type Pipe = {
  ready: Promise<OpenPipe>;
  /** Links currently consuming through this pipe. */
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
  close(): void;
};

/**
 * A producer made available on another router: `producer` is it as that router has it (same id).
 * Call `release()` when the consumer is gone.
 */
export type PipeLease = { readonly producer: types.Producer; release(): void };

/**
 * Producers piped into other routers (another worker's, or another instance's), shared by
 * consecutive pairs and kept warm.
 *
 * Why: a pipe producer is new to its router, and mediasoup scores its streams only when the first
 * RTCP sender report crosses the pipe (about a second later). Until then a simulcast consumer has
 * no layer to forward, so a fresh pipe per pair would add ~1 s to every piped match.
 */
export class ProducerPipes {
  readonly #options: ProducerPipesOptions;
  /** By `${producerId}>${routerId}` (another instance's: `${instance}/${producerId}>${routerId}`). */
  readonly #pipes = new Map<string, Pipe>();

  constructor(options: ProducerPipesOptions) {
    this.#options = options;
  }

  /** Pipes currently open (warm or in use). */
  get size(): number {
    return this.#pipes.size;
  }

  /** Makes `producer` (living on `from`, a router of this process) consumable on `to` under the same id. */
  acquire(producer: types.Producer, from: types.Router, to: types.Router): Promise<PipeLease> {
    return this.lease(`${producer.id}>${to.id}`, async () => {
      const result = await from.pipeToRouter({
        producerId: producer.id,
        router: to,
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: this.#options.portRange },
      });
      const { pipeProducer, pipeConsumer } = result;
      if (!pipeProducer || !pipeConsumer) throw new Error('the producer could not be piped');
      // Closing either end closes the other (mediasoup links them).
      return { producer: pipeProducer, close: () => pipeConsumer.close() };
    });
  }

  /**
   * The pipe under `key`, opened with `open` unless it is already open (or opening). The pipe
   * ends when its far producer closes (the source producer or a router went away).
   */
  async lease(key: string, open: () => Promise<OpenPipe>): Promise<PipeLease> {
    let pipe = this.#pipes.get(key);
    if (!pipe) pipe = this.#open(key, open);
    pipe.users += 1;
    clearTimeout(pipe.idleTimer);
    pipe.idleTimer = undefined;
    const leased = pipe;
    let opened: OpenPipe;
    try {
      opened = await leased.ready;
    } catch (error) {
      leased.users -= 1;
      throw error;
    }
    let released = false;
    return {
      producer: opened.producer,
      release: () => {
        if (released) return;
        released = true;
        leased.users -= 1;
        if (leased.users === 0 && this.#pipes.get(key) === leased) {
          leased.idleTimer = setTimeout(() => leased.close(), this.#options.idleMs);
          leased.idleTimer.unref();
        }
      },
    };
  }

  /** Closes every pipe. */
  close(): void {
    for (const pipe of [...this.#pipes.values()]) pipe.close();
  }

  #open(key: string, open: () => Promise<OpenPipe>): Pipe {
    const ready = open();
    const pipe: Pipe = {
      ready,
      users: 0,
      idleTimer: undefined,
      close: () => {
        clearTimeout(pipe.idleTimer);
        if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
        ready.then(
          (opened) => opened.close(),
          () => {},
        );
      },
    };
    this.#pipes.set(key, pipe);
    ready.then(
      (opened) => {
        if (opened.producer.closed) pipe.close();
        else opened.producer.observer.once('close', () => pipe.close());
      },
      () => {
        if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
      },
    );
    return pipe;
  }
}
