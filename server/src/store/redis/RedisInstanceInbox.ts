import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { type InstanceRelay, type RelayHandler, type RelayMessage, RelayTimeoutError } from '../InstanceRelay.js';
import type { MeetopiaRedis } from './connection.js';
import { WriteBacklog } from './WriteBacklog.js';

const READ_BLOCK_MS = 1000;
const STREAM_MAX = 10_000;

type Envelope = {
  from: string;
  message: RelayMessage;
  /** Set on a request: the reply names it. */
  requestId?: string;
  /** Set on a reply. */
  inReplyTo?: string;
  /** A reply that is an error. */
  error?: string;
};

type Pending = { resolve(message: RelayMessage): void; reject(error: Error): void; timer: NodeJS.Timeout };

/** How long an answer to a request that timed out is still expected (then it is dropped unseen). */
const LATE_ANSWER_MS = 60_000;

/** A multi-command transaction of the Redis client. */
type Multi = ReturnType<MeetopiaRedis['multi']>;

/**
 * Each instance's inbox is a Redis stream (`inbox:<instance>`) that only it reads, on a
 * connection of its own. Streams, not pub/sub: the reader resumes from the last id it saw, so
 * nothing is lost while the connection drops and comes back, and one inbox keeps the order in
 * which messages were written (a pair's `matched` always comes before its first chat line).
 */
export class RedisInstanceInbox implements InstanceRelay {
  readonly self: string;
  readonly #redis: MeetopiaRedis;
  readonly #reader: MeetopiaRedis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #handlers: RelayHandler[] = [];
  readonly #pending = new Map<string, Pending>();
  /** Requests that timed out whose sender wants a late answer. */
  readonly #late = new Map<string, (reply: RelayMessage) => void>();
  /** Messages sent while Redis is away go out, in order, once it is back. */
  readonly #unsent: WriteBacklog;
  #lastId = '0';
  #closed = false;
  #reading: Promise<void> = Promise.resolve();

  readonly alive: (instances: Iterable<string>) => Promise<Set<string>>;

  constructor(options: {
    redis: MeetopiaRedis;
    prefix: string;
    self: string;
    logger: Logger;
    /** The cluster's view of who is alive. */
    alive: (instances: Iterable<string>) => Promise<Set<string>>;
  }) {
    this.self = options.self;
    this.alive = options.alive;
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#logger = options.logger;
    this.#unsent = new WriteBacklog(options.redis, options.logger, 'message to another instance');
    this.#reader = options.redis.duplicate();
    this.#reader.on('error', () => {}); // the main connection logs outages
  }

  /**
   * Reads from what the inbox holds now on: messages for an earlier run of this instance are
   * stale. Resolves once that point is known, before this instance's users can be paired, so
   * that nothing meant for them is skipped.
   */
  async start(): Promise<void> {
    await this.#reader.connect();
    const last = await this.#reader.xRevRange(this.#key(this.self), '+', '-', { COUNT: 1 });
    this.#lastId = last?.[0]?.id ?? '0';
    this.#reading = this.#read();
  }

  onMessage(handler: RelayHandler): void {
    this.#handlers.push(handler);
  }

  async send(instance: string, message: RelayMessage): Promise<void> {
    await this.#unsent.run(() => this.#write(instance, { from: this.self, message }));
  }

  /** Adds a message to a transaction the caller runs (several inboxes written at once). */
  sendWithin(multi: Multi, instance: string, message: RelayMessage): void {
    multi.xAdd(this.#key(instance), '*', { body: JSON.stringify({ from: this.self, message }) }, trim());
  }

  request(
    instance: string,
    message: RelayMessage,
    timeoutMs: number,
    onLate?: (reply: RelayMessage) => void,
  ): Promise<RelayMessage> {
    const requestId = randomUUID();
    return new Promise<RelayMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        if (onLate) {
          this.#late.set(requestId, onLate);
          setTimeout(() => this.#late.delete(requestId), LATE_ANSWER_MS).unref();
        }
        reject(new RelayTimeoutError(`instance ${instance} did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(requestId, { resolve, reject, timer });
      this.#write(instance, { from: this.self, message, requestId }).catch((error: unknown) => {
        clearTimeout(timer);
        this.#pending.delete(requestId);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsent.close();
    this.#late.clear();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error('closed'));
      this.#pending.delete(id);
    }
    void this.#reading.finally(() => {
      if (this.#reader.isOpen) this.#reader.destroy();
    });
  }

  async #write(instance: string, envelope: Envelope): Promise<void> {
    await this.#redis.xAdd(this.#key(instance), '*', { body: JSON.stringify(envelope) }, trim());
  }

  async #read(): Promise<void> {
    while (!this.#closed) {
      try {
        if (!this.#reader.isOpen) await this.#reader.connect();
        const replies = await this.#reader.xRead([{ key: this.#key(this.self), id: this.#lastId }], {
          BLOCK: READ_BLOCK_MS,
          COUNT: 1000,
        });
        if (!replies || this.#closed) continue;
        for (const { messages } of replies as Array<{ messages: Array<{ id: string; message: { body?: string } }> }>) {
          for (const { id, message } of messages) {
            this.#lastId = id;
            this.#dispatch(message.body);
          }
        }
      } catch (error) {
        if (this.#closed) return;
        this.#logger.debug({ err: error }, 'inbox read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #dispatch(body: string | undefined): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(body ?? '') as Envelope;
    } catch {
      this.#logger.warn('unreadable inbox message dropped');
      return;
    }
    if (envelope.inReplyTo !== undefined) {
      const pending = this.#pending.get(envelope.inReplyTo);
      if (!pending) {
        const late = this.#late.get(envelope.inReplyTo);
        this.#late.delete(envelope.inReplyTo);
        if (late && envelope.error === undefined) late(envelope.message);
        return;
      }
      this.#pending.delete(envelope.inReplyTo);
      clearTimeout(pending.timer);
      if (envelope.error !== undefined) pending.reject(new Error(envelope.error));
      else pending.resolve(envelope.message);
      return;
    }
    for (const handler of this.#handlers) {
      let answer: ReturnType<RelayHandler>;
      try {
        answer = handler(envelope.message, envelope.from);
      } catch (error) {
        this.#logger.error({ err: error, type: envelope.message.type }, 'inbox message handler failed');
        continue;
      }
      if (answer === undefined) continue;
      const { requestId, from } = envelope;
      if (requestId === undefined) {
        void answer.catch(() => {});
        continue;
      }
      answer
        .then(
          (reply) => this.#write(from, { from: this.self, message: reply ?? { type: 'ok' }, inReplyTo: requestId }),
          (error: unknown) =>
            this.#write(from, {
              from: this.self,
              message: { type: 'error' },
              inReplyTo: requestId,
              error: error instanceof Error ? error.message : String(error),
            }),
        )
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'reply to another instance not sent'));
      return;
    }
  }

  #key(instance: string): string {
    return `${this.#prefix}inbox:${instance}`;
  }
}

function trim() {
  return { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: STREAM_MAX } };
}
