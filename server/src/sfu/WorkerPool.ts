import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import * as mediasoup from 'mediasoup';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { mediaCodecs } from './codecs.js';

/** One mediasoup worker process with its WebRtcServer (one UDP and one TCP port) and its router. */
export class MediaWorker {
  /** Slot in the pool; the media port is basePort + index. */
  readonly index: number;
  readonly worker: types.Worker;
  readonly webRtcServer: types.WebRtcServer;
  readonly router: types.Router;
  /** Sessions whose transports live on this worker: the load used to place new sessions. */
  sessions = 0;
  /** Set when the process died; a replacement takes the same slot. */
  dead = false;
  /** The UDP and TCP port of the WebRtcServer. */
  readonly port: number;
  /**
   * A data producer that never sends: every receive transport consumes it at once, which makes
   * the browser connect that transport before the first match (see `warmupChannelSchema`).
   */
  readonly warmup: types.DataProducer;

  constructor(
    index: number,
    worker: types.Worker,
    webRtcServer: types.WebRtcServer,
    router: types.Router,
    port: number,
    warmup: types.DataProducer,
  ) {
    this.index = index;
    this.worker = worker;
    this.webRtcServer = webRtcServer;
    this.router = router;
    this.port = port;
    this.warmup = warmup;
  }

  get pid(): number {
    return this.worker.pid;
  }
}

type WorkerPoolEvents = {
  /** A worker died; its routers and transports are gone. Emitted before the replacement exists. */
  workerDied: [MediaWorker];
  /** A replacement for a dead worker is ready. */
  workerReplaced: [MediaWorker];
};

export type WorkerPoolOptions = Pick<
  Config['media'],
  'workers' | 'listenIp' | 'announcedAddress' | 'basePort' | 'logLevel' | 'workerBin'
>;

/**
 * The mediasoup workers, one per core by default. New sessions go to the least-loaded worker;
 * a pair whose members sit on different workers is joined with `pipeToRouter` (see PairMedia).
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  /** Live workers by slot; a dead slot is empty until its replacement is up. */
  readonly #slots: Array<MediaWorker | undefined>;
  /** Replacements being started, by slot. */
  readonly #replacing = new Map<number, Promise<MediaWorker>>();
  readonly #options: WorkerPoolOptions;
  readonly #logger: Logger;
  #closed = false;

  private constructor(options: WorkerPoolOptions, logger: Logger, workers: MediaWorker[]) {
    super();
    this.#options = options;
    this.#logger = logger;
    this.#slots = workers;
    for (const worker of workers) this.#watch(worker);
  }

  /** Starts every worker; rejects (after closing those started) when any fails. */
  static async create(options: WorkerPoolOptions, logger: Logger): Promise<WorkerPool> {
    const results = await Promise.allSettled(
      Array.from({ length: options.workers }, (_, index) => startWorker(index, options)),
    );
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      for (const worker of started) worker.worker.close();
      throw failure.reason;
    }
    return new WorkerPool(options, logger, started);
  }

  /** Live workers. */
  get workers(): readonly MediaWorker[] {
    return this.#slots.filter((worker): worker is MediaWorker => worker !== undefined);
  }

  /** The least-loaded live worker, waiting for a replacement when every worker is down. */
  async acquire(): Promise<MediaWorker> {
    const live = this.workers;
    if (live.length > 0) {
      return live.reduce((best, worker) => (worker.sessions < best.sessions ? worker : best));
    }
    const pending = [...this.#replacing.values()];
    if (pending.length === 0) throw new Error('no mediasoup worker available');
    return Promise.any(pending);
  }

  /** Closes every worker and resolves once their processes have exited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopping = this.workers.map((worker) =>
      stopWorker(worker.worker, () =>
        this.#logger.warn(
          { worker: worker.index, pid: worker.pid },
          'mediasoup worker did not exit after close; killed',
        ),
      ),
    );
    // A replacement that comes up now closes itself (see #replace).
    await Promise.allSettled(this.#replacing.values());
    await Promise.all(stopping);
  }

  #watch(worker: MediaWorker): void {
    worker.worker.on('died', (error) => {
      worker.dead = true;
      this.#slots[worker.index] = undefined;
      this.#logger.error({ worker: worker.index, pid: worker.pid, err: error }, 'mediasoup worker died');
      if (this.#closed) return;
      this.#replace(worker.index);
      this.emit('workerDied', worker);
    });
  }

  #replace(index: number, attempt = 1): void {
    const replacement = startWorker(index, this.#options);
    this.#replacing.set(index, replacement);
    replacement.then(
      (worker) => {
        this.#replacing.delete(index);
        if (this.#closed) {
          worker.worker.close();
          return;
        }
        this.#slots[index] = worker;
        this.#watch(worker);
        this.#logger.info({ worker: index, pid: worker.pid }, 'mediasoup worker replaced');
        this.emit('workerReplaced', worker);
      },
      (error: unknown) => {
        this.#replacing.delete(index);
        this.#logger.error({ worker: index, attempt, err: error }, 'could not replace mediasoup worker');
        // The port may still be held for a moment by the dead process: retry with a growing delay.
        if (!this.#closed) setTimeout(() => this.#replace(index, attempt + 1), Math.min(30_000, 500 * 2 ** attempt));
      },
    );
  }
}

/** How long a closed worker process may take to exit before it is killed. */
const WORKER_EXIT_WAIT_MS = 5000;

/**
 * Closes a worker and waits for its process to exit (a graceful shutdown must not leave it
 * behind). A worker that has not exited by then is killed: one was seen, in a CI run, asleep in
 * its event loop with its channel closed, ignoring SIGTERM, after its server had gone.
 */
function stopWorker(worker: types.Worker, onKilled: () => void): Promise<void> {
  if (worker.subprocessClosed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(worker.pid, 'SIGKILL');
        onKilled();
      } catch {
        // Already gone.
      }
      resolve();
    }, WORKER_EXIT_WAIT_MS);
    worker.once('subprocessclose', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.close();
  });
}

async function startWorker(index: number, options: WorkerPoolOptions): Promise<MediaWorker> {
  const worker = await mediasoup.createWorker({
    logLevel: options.logLevel,
    ...(options.workerBin ? { workerBin: options.workerBin } : {}),
    appData: { index },
  });
  try {
    // MEDIA_PORT=0 (tests): the worker picks a free port.
    const fixedPort = options.basePort === 0 ? undefined : options.basePort + index;
    const webRtcServer = await worker.createWebRtcServer({
      listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
        protocol,
        ip: options.listenIp,
        announcedAddress: options.announcedAddress,
        ...(fixedPort === undefined ? {} : { port: fixedPort }),
      })),
    });
    const router = await worker.createRouter({ mediaCodecs });
    const warmup = await (await router.createDirectTransport()).produceData({ label: 'warmup' });
    const { udpSockets } = await webRtcServer.dump();
    const port = udpSockets[0]?.port ?? fixedPort ?? 0;
    return new MediaWorker(index, worker, webRtcServer, router, port, warmup);
  } catch (error) {
    worker.close();
    throw error;
  }
}
