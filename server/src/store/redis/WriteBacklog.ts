import type { Logger } from '../../logger.js';
import type { MeetopiaRedis } from './connection.js';

/**
 * Writes that must reach Redis, in order, even across an outage: each runs at once, or — while
 * Redis is away, or earlier ones still wait — is kept and replayed in order once it is back.
 */
export class WriteBacklog {
  readonly #redis: MeetopiaRedis;
  readonly #logger: Logger;
  readonly #what: string;
  readonly #waiting: Array<() => Promise<void>> = [];
  readonly #timer: NodeJS.Timeout;
  #flushing = false;

  /** `what`: what is kept, for the log ("queue change", "message to another instance"). */
  constructor(redis: MeetopiaRedis, logger: Logger, what: string) {
    this.#redis = redis;
    this.#logger = logger;
    this.#what = what;
    this.#timer = setInterval(() => void this.#flush().catch(() => {}), 500);
    this.#timer.unref();
  }

  async run(write: () => Promise<void>): Promise<void> {
    if (this.#waiting.length === 0) {
      try {
        await write();
        return;
      } catch (error) {
        this.#logger.warn({ err: error }, `${this.#what} kept until Redis is back`);
      }
    }
    this.#waiting.push(write);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#waiting.length > 0 && this.#redis.isReady) {
        await this.#waiting[0]?.();
        this.#waiting.shift();
      }
    } finally {
      this.#flushing = false;
    }
  }
}
