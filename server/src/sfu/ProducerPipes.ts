import type { types } from 'mediasoup';

export type ProducerPipesOptions = {
  /** Loopback port range for the pipe transports. */
  portRange: { min: number; max: number };
  /** How long an unused pipe is kept warm before it is closed. */
  idleMs: number;
};

type Pipe = {
  ready: Promise<types.PipeToRouterResult>;
  /** Links currently consuming through this pipe. */
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
  close(): void;
};

/** A producer made available on another router; call `release()` when the consumer is gone. */
export type PipeLease = { release(): void };

/**
 * Producers piped into other workers' routers, shared by consecutive pairs and kept warm.
 *
 * Why: a pipe producer is new to its router, and mediasoup scores its streams only when the first
 * RTCP sender report crosses the pipe (about a second later). Until then a simulcast consumer has
 * no layer to forward, so a fresh pipe per pair would add ~1 s to every cross-worker match.
 */
export class ProducerPipes {
  readonly #options: ProducerPipesOptions;
  /** By `${producerId}>${routerId}`. */
  readonly #pipes = new Map<string, Pipe>();

  constructor(options: ProducerPipesOptions) {
    this.#options = options;
  }

  /** Pipes currently open (warm or in use). */
  get size(): number {
    return this.#pipes.size;
  }

  /** Makes `producer` (living on `from`) consumable on `to` under the same id. */
  async acquire(producer: types.Producer, from: types.Router, to: types.Router): Promise<PipeLease> {
    const key = `${producer.id}>${to.id}`;
    let pipe = this.#pipes.get(key);
    if (!pipe) pipe = this.#open(key, producer, from, to);
    pipe.users += 1;
    clearTimeout(pipe.idleTimer);
    pipe.idleTimer = undefined;
    const leased = pipe;
    try {
      await leased.ready;
    } catch (error) {
      leased.users -= 1;
      throw error;
    }
    let released = false;
    return {
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

  #open(key: string, producer: types.Producer, from: types.Router, to: types.Router): Pipe {
    const ready = from.pipeToRouter({
      producerId: producer.id,
      router: to,
      listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: this.#options.portRange },
    });
    const pipe: Pipe = {
      ready,
      users: 0,
      idleTimer: undefined,
      close: () => {
        clearTimeout(pipe.idleTimer);
        if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
        // Closing either end closes the other (mediasoup links them).
        ready.then(
          (result) => result.pipeConsumer?.close(),
          () => {},
        );
      },
    };
    this.#pipes.set(key, pipe);
    ready.then(
      (result) => {
        // The producer or either router went away: the pipe is gone too.
        result.pipeProducer?.observer.once('close', () => pipe.close());
        result.pipeConsumer?.observer.once('close', () => pipe.close());
      },
      () => {
        if (this.#pipes.get(key) === pipe) this.#pipes.delete(key);
      },
    );
    return pipe;
  }
}
