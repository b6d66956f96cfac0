import { randomUUID } from 'node:crypto';
import type { SearchStage } from '@meetopia/protocol';
import type { Logger } from '../../logger.js';
import { type MatchedPair, Matcher, type MatcherOptions } from '../../matchmaking/Matcher.js';
import { searchStage } from '../../matchmaking/relaxation.js';
import type { MatchTicket } from '../../matchmaking/score.js';
import type { MatchQueue, MatchQueueEvents } from '../MatchQueue.js';
import type { ClusterMembership } from './ClusterMembership.js';
import type { MeetopiaRedis } from './connection.js';
import type { RedisInstanceInbox } from './RedisInstanceInbox.js';
import { WriteBacklog } from './WriteBacklog.js';

export type RedisMatchQueueOptions = MatcherOptions &
  MatchQueueEvents & {
    redis: MeetopiaRedis;
    prefix: string;
    cluster: ClusterMembership;
    /** Where pairs and search changes are sent to the instances of their users. */
    inbox: RedisInstanceInbox;
    logger: Logger;
    /** How long the matcher's lease lasts without renewal: another instance takes over after it. */
    leaseMs?: number;
    onRound?: (ms: number, waiting: number) => void;
  };

const LEASE_MS = 3000;
const READ_BLOCK_MS = 1000;
const STREAM_MAX = 10_000;

/** Renews the lease only while this instance holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/**
 * Takes both users out of the queue only if both are still in it and the caller still leads:
 * a deposed matcher pairs nobody, and nobody is paired twice.
 */
const CLAIM = `if redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
local a = redis.call('HEXISTS', KEYS[1], ARGV[1])
local b = redis.call('HEXISTS', KEYS[1], ARGV[2])
if a == 1 and b == 1 then redis.call('HDEL', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 10 + 2 * a + b`;

type Leading = {
  matcher: Matcher;
  eventsId: string;
  timer: NodeJS.Timeout | undefined;
  timerAt: number | null;
  sweptAt: number;
};

type Inbound = { type: 'paired'; pairId: string; pair: WirePair } | { type: 'stage'; id: string; stage: SearchStage };

type WirePair = Omit<MatchedPair, 'a' | 'b'> & { a: WireTicket; b: WireTicket };

/**
 * The waiting queue of every instance in Redis. Each instance writes its users' tickets to one
 * hash and announces every change on an event stream; one instance at a time (the holder of a
 * lease it renews every second) keeps the pure `Matcher` in step with that stream, runs the
 * rounds over everybody waiting on any instance, claims each pair atomically and sends it to the
 * instances of its two users through their inboxes. Another instance takes the lease over within
 * `leaseMs` of the leader's loss, rebuilding the matcher from the hash and the recent partings.
 *
 * Streams (not pub/sub): a read resumes from the last id it saw, so nothing is lost across a
 * reconnect. While Redis is away, changes to this instance's users are kept and written once it
 * is back; users wait meanwhile.
 *
 * The score prefers a partner on the same instance (no media between machines), then in the
 * same region; two users of different instances are joined by pipe transports (`InstancePipes`).
 */
export class RedisMatchQueue implements MatchQueue {
  readonly #options: RedisMatchQueueOptions;
  readonly #redis: MeetopiaRedis;
  readonly #reader: MeetopiaRedis;
  /** Wakes the event reader when this instance starts leading. */
  #wake: (() => void) | undefined;
  readonly #id: string;
  readonly #leaseMs: number;
  /** This instance's waiting users. */
  readonly #local = new Map<string, MatchTicket>();
  /** Writes that failed (Redis away), replayed in order once it is back. */
  readonly #unsent: WriteBacklog;
  /** The leader's matcher and its read position in the event stream (null: not leading). */
  #leading: Leading | null = null;
  #closed = false;
  #held = false;
  /** When Redis answered again after an outage (instances' heartbeats are stale until they beat again). */
  #backAt = Number.NEGATIVE_INFINITY;
  readonly #leaseTimer: NodeJS.Timeout;
  readonly #reading: Promise<void>;

  constructor(options: RedisMatchQueueOptions) {
    this.#options = options;
    this.#redis = options.redis;
    this.#reader = options.redis.duplicate();
    this.#reader.on('error', () => {}); // the main connection logs outages
    this.#id = options.cluster.id;
    this.#leaseMs = options.leaseMs ?? LEASE_MS;
    options.inbox.onMessage((message) => {
      if (message.type === 'paired' || message.type === 'stage') this.#deliver(message as unknown as Inbound);
      return undefined;
    });
    this.#leaseTimer = setInterval(() => void this.#holdLease(), Math.round(this.#leaseMs / 3));
    this.#leaseTimer.unref();
    this.#unsent = new WriteBacklog(options.redis, options.logger, 'queue change');
    // Tickets of an earlier life of this instance go first; then the first lease attempt before the
    // first read: a leader from the start reads the events at once.
    this.#reading = this.#forgetEarlierLife()
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'earlier tickets of this instance kept'))
      .then(() => this.#holdLease())
      .then(() => this.#read());
  }

  get held(): boolean {
    return this.#held;
  }

  /** This instance's waiting users (each instance reports its own; the cluster view adds them up). */
  get size(): number {
    return this.#local.size;
  }

  has(id: string): boolean {
    return this.#local.has(id);
  }

  stage(id: string): SearchStage | undefined {
    const ticket = this.#local.get(id);
    return ticket ? searchStage(ticket, this.#options.now(), this.#options) : undefined;
  }

  /** This instance's waiting users by country. */
  countByCountry(): Map<string | null, number> {
    const counts = new Map<string | null, number>();
    for (const ticket of this.#local.values()) counts.set(ticket.country, (counts.get(ticket.country) ?? 0) + 1);
    return counts;
  }

  async enqueue(ticket: MatchTicket): Promise<void> {
    this.#local.set(ticket.id, ticket);
    const json = JSON.stringify(toWire(ticket));
    await this.#unsent.run(async () => {
      // Only while still waiting: a replay after an outage must not bring back someone who left.
      if (this.#local.get(ticket.id) !== ticket) return;
      await this.#redis
        .multi()
        .hSet(this.#key('tickets'), ticket.id, json)
        .xAdd(this.#key('events'), '*', { op: 'enqueue', id: ticket.id, ticket: json }, trim())
        .exec();
    });
  }

  async dequeue(id: string): Promise<void> {
    if (!this.#local.delete(id)) return;
    await this.#unsent.run(async () => {
      await this.#redis
        .multi()
        .hDel(this.#key('tickets'), id)
        .xAdd(this.#key('events'), '*', { op: 'dequeue', instance: this.#id, id }, trim())
        .exec();
    });
  }

  async parted(a: string, b: string, options: { skipped: boolean }): Promise<void> {
    const fields = { op: 'parted', instance: this.#id, a, b, skipped: options.skipped ? '1' : '0' };
    await this.#unsent.run(async () => {
      await this.#redis
        .multi()
        .xAdd(this.#key('events'), '*', fields, trim())
        // Kept for the window of "recent partners": a new matcher replays them.
        .xAdd(this.#key('parted'), '*', fields, {
          TRIM: {
            strategy: 'MINID',
            strategyModifier: '~',
            threshold: this.#options.now() - this.#options.recentWindowMs,
          },
        })
        .exec();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    this.#unsent.close();
    this.#stopLeading();
    this.#wake?.();
    // Let the next instance take over at once rather than after the lease.
    if (this.#redis.isReady)
      void this.#redis
        .eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, {
          keys: [this.#key('leader')],
          arguments: [this.#id],
        })
        .catch(() => {});
    void this.#reading.finally(() => {
      if (this.#reader.isOpen) this.#reader.destroy();
    });
  }

  /**
   * An instance restarted under the same INSTANCE_ID within the heartbeat timeout looks alive to
   * the leader, so the tickets its previous process left would wait forever: drop them (this
   * process has nobody waiting yet).
   */
  async #forgetEarlierLife(): Promise<void> {
    const stale = Object.entries(await this.#redis.hGetAll(this.#key('tickets')))
      .filter(([, json]) => fromWire(json).location.instance === this.#id)
      .map(([id]) => id);
    if (stale.length === 0) return;
    const write = this.#redis.multi().hDel(this.#key('tickets'), stale);
    for (const id of stale) write.xAdd(this.#key('events'), '*', { op: 'dequeue', instance: this.#id, id }, trim());
    await write.exec();
    this.#options.logger.info(
      { dropped: stale.length },
      'dropped the waiting users of an earlier run of this instance',
    );
  }

  /** Takes or renews the matcher's lease; starts or stops leading accordingly. */
  async #holdLease(): Promise<void> {
    if (this.#closed) return;
    const key = this.#key('leader');
    try {
      const renewed = await this.#redis.eval(RENEW, { keys: [key], arguments: [this.#id, String(this.#leaseMs)] });
      this.#setHeld(false);
      const leads =
        renewed === 1 ||
        (await this.#redis.set(key, this.#id, {
          condition: 'NX',
          expiration: { type: 'PX', value: this.#leaseMs },
        })) === 'OK';
      if (leads && !this.#leading) await this.#startLeading();
      else if (leads && this.#leading) await this.#sweepGone(this.#leading);
      if (!leads && this.#leading) this.#stopLeading();
    } catch (error) {
      // Cannot reach Redis: nobody can pair anyone (the waiting users are told), and someone
      // else will lead once the lease ends; stop before it does.
      if (!this.#redis.isReady) this.#setHeld(true);
      if (this.#leading) {
        this.#options.logger.warn({ err: error }, 'matcher lease not renewed; stopping matching here');
        this.#stopLeading();
      }
    }
  }

  #setHeld(held: boolean): void {
    if (held === this.#held || this.#closed) return;
    this.#held = held;
    if (!held) this.#backAt = this.#options.now();
    this.#options.onHeld?.(held);
  }

  /** Builds the matcher from the queue as it is now, then follows the event stream from there. */
  async #startLeading(): Promise<void> {
    const last = await this.#redis.xRevRange(this.#key('events'), '+', '-', { COUNT: 1 });
    const tickets = await this.#redis.hGetAll(this.#key('tickets'));
    const parted = await this.#redis.xRange(
      this.#key('parted'),
      String(this.#options.now() - this.#options.recentWindowMs),
      '+',
    );
    const matcher = new Matcher(this.#options);
    for (const entry of parted ?? []) {
      const { a, b, skipped } = entry.message;
      if (a && b) matcher.parted(a, b, { skipped: skipped === '1' });
    }
    for (const json of Object.values(tickets)) matcher.enqueue(fromWire(json));
    const leading: Leading = {
      matcher,
      eventsId: last?.[0]?.id ?? '0',
      timer: undefined,
      timerAt: null,
      sweptAt: Number.NEGATIVE_INFINITY,
    };
    this.#leading = leading;
    this.#wake?.();
    // Tickets of instances that died with users waiting: nobody will answer for them.
    const dropped = await this.#sweepGone(leading);
    this.#options.logger.info({ waiting: matcher.size, dropped }, 'matching the shared queue here');
    await this.#round();
  }

  /** Every few seconds the leader drops the waiting users of instances that died; returns how many. */
  async #sweepGone(leading: Leading): Promise<number> {
    const now = this.#options.now();
    if (now - leading.sweptAt < this.#options.cluster.timeoutMs) return 0;
    // Just after an outage every heartbeat is old (none could be written): judge nobody until
    // each instance has had the time to beat again.
    if (now - this.#backAt < this.#options.cluster.timeoutMs) return 0;
    leading.sweptAt = now;
    const byInstance = new Map<string, string[]>();
    for (const ticket of leading.matcher.tickets()) {
      const instance = ticket.location.instance ?? '';
      const ids = byInstance.get(instance) ?? [];
      ids.push(ticket.id);
      byInstance.set(instance, ids);
    }
    const alive = await this.#options.cluster.alive([...byInstance.keys()]);
    if (leading !== this.#leading) return 0;
    // This instance is alive whatever its heartbeat says (it may not have beaten since Redis came back).
    const ids = [...byInstance]
      .filter(([instance]) => instance !== this.#id && !alive.has(instance))
      .flatMap(([, waiting]) => waiting);
    for (const id of ids) leading.matcher.remove(id);
    if (ids.length > 0) await this.#redis.hDel(this.#key('tickets'), ids);
    return ids.length;
  }

  #stopLeading(): void {
    if (!this.#leading) return;
    clearTimeout(this.#leading.timer);
    this.#leading = null;
  }

  /** While this instance leads, one loop follows the event stream into the matcher. */
  async #read(): Promise<void> {
    while (!this.#closed) {
      const leading = this.#leading;
      if (!leading) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      try {
        if (!this.#reader.isOpen) await this.#reader.connect();
        const replies = await this.#reader.xRead([{ key: this.#key('events'), id: leading.eventsId }], {
          BLOCK: READ_BLOCK_MS,
          COUNT: 1000,
        });
        if (!replies || this.#closed || leading !== this.#leading) continue;
        let changed = false;
        for (const { messages } of replies as Array<{
          messages: Array<{ id: string; message: Record<string, string> }>;
        }>) {
          for (const { id, message } of messages) {
            leading.eventsId = id;
            applyEvent(leading.matcher, message);
            changed = true;
          }
        }
        if (changed) await this.#round();
      } catch (error) {
        if (this.#closed) return;
        this.#options.logger.debug({ err: error }, 'queue read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #deliver(message: Inbound): void {
    if (message.type === 'stage') {
      if (!this.#local.has(message.id)) return;
      this.#options.onStage(message.id, message.stage);
      return;
    }
    const pair: MatchedPair = { ...message.pair, a: fromWire(message.pair.a), b: fromWire(message.pair.b) };
    for (const ticket of [pair.a, pair.b]) this.#local.delete(ticket.id);
    this.#options.onPaired(pair, message.pairId);
  }

  /** The leader's round: pairs are claimed in Redis, then sent to their users' instances. */
  async #round(): Promise<void> {
    const leading = this.#leading;
    if (!leading || this.#closed) return;
    const started = performance.now();
    const { pairs, widened } = leading.matcher.round();
    this.#options.onRound?.(performance.now() - started, leading.matcher.size);
    // All claims of a round in one pipeline, then all the messages in one transaction: two round
    // trips per round, whatever the number of pairs.
    const claims = await Promise.all(
      pairs.map((pair) =>
        this.#redis.eval(CLAIM, {
          keys: [this.#key('tickets'), this.#key('leader')],
          arguments: [pair.a.id, pair.b.id, this.#id],
        }),
      ),
    );
    if (claims.includes(-1)) {
      this.#stopLeading();
      return;
    }
    const messages = this.#redis.multi();
    let count = 0;
    const send = (instance: string | undefined, message: Inbound) => {
      if (instance === undefined) return;
      this.#options.inbox.sendWithin(messages, instance, message);
      count += 1;
    };
    for (const [i, pair] of pairs.entries()) {
      const claimed = Number(claims[i]);
      if (claimed !== 1) {
        // One of them left meanwhile: whoever is still in the queue waits on, in the matcher too.
        if (claimed === 12 || claimed === 13) leading.matcher.enqueue(pair.a);
        if (claimed === 11 || claimed === 13) leading.matcher.enqueue(pair.b);
        continue;
      }
      // Both instances name the conversation alike.
      const message: Inbound = {
        type: 'paired',
        pairId: randomUUID(),
        pair: { ...pair, a: toWire(pair.a), b: toWire(pair.b) },
      };
      for (const instance of new Set([pair.a.location.instance, pair.b.location.instance])) send(instance, message);
    }
    for (const { id, stage } of widened) {
      send(leading.matcher.ticket(id)?.location.instance, { type: 'stage', id, stage });
    }
    if (count > 0) await messages.exec();
    this.#schedule(leading);
  }

  #schedule(leading: Leading): void {
    const at = leading.matcher.nextEventAt();
    if (at === leading.timerAt) return;
    clearTimeout(leading.timer);
    leading.timerAt = at;
    if (at === null) return;
    leading.timer = setTimeout(
      () => {
        leading.timerAt = null;
        this.#round().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'matching round failed'));
      },
      Math.max(0, at - this.#options.now()) + 1,
    );
    leading.timer.unref();
  }

  #key(name: string): string {
    return `${this.#options.prefix}queue:${name}`;
  }
}

function trim() {
  return { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: STREAM_MAX } };
}

function applyEvent(matcher: Matcher, event: Record<string, string>): void {
  if (event.op === 'enqueue' && event.ticket) matcher.enqueue(fromWire(event.ticket));
  else if (event.op === 'dequeue' && event.id) matcher.remove(event.id);
  else if (event.op === 'parted' && event.a && event.b)
    matcher.parted(event.a, event.b, { skipped: event.skipped === '1' });
}

type WireTicket = Omit<MatchTicket, 'blocked'> & { blocked: string[] };

function toWire(ticket: MatchTicket): WireTicket {
  return { ...ticket, blocked: [...ticket.blocked] };
}

function fromWire(value: string | WireTicket | MatchTicket): MatchTicket {
  const wire = (typeof value === 'string' ? JSON.parse(value) : value) as WireTicket;
  return { ...wire, blocked: new Set(wire.blocked) };
}
