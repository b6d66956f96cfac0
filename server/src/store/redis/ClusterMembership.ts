import type { Logger } from '../../logger.js';
import type { MeetopiaRedis } from './connection.js';

/** One instance as the others see it. */
export type InstanceInfo = {
  id: string;
  region: string | null;
  /** Where its users send media (ANNOUNCED_ADDRESS): which machine it is. */
  address: string | null;
  startedAt: number;
  /** When it last said it was alive. */
  seenAt: number;
  sessions: number;
  waiting: number;
  /** Live mediasoup workers (each one core's worth of media). */
  mediaWorkers: number;
  /** Share of one core the process used over the last heartbeat interval (0..n). */
  cpu: number;
};

export type ClusterMembershipOptions = {
  redis: MeetopiaRedis;
  prefix: string;
  id: string;
  region: string | null;
  address: string;
  now: () => number;
  load: () => { sessions: number; waiting: number; mediaWorkers: number };
  logger: Logger;
  heartbeatMs?: number;
};

const HEARTBEAT_MS = 2000;
/** An instance that has not been heard from for this many heartbeats is gone. */
const MISSED_HEARTBEATS = 3;

/**
 * Each instance says it is alive every 2 s (a sorted set by time, its figures in a hash); one not
 * heard from for 6 s counts as gone. A clean shutdown leaves at once.
 */
export class ClusterMembership {
  readonly #options: ClusterMembershipOptions;
  readonly #heartbeatMs: number;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();

  constructor(options: ClusterMembershipOptions) {
    this.#options = options;
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.#startedAt = options.now();
  }

  get id(): string {
    return this.#options.id;
  }

  /** How long after its last heartbeat an instance counts as gone. */
  get timeoutMs(): number {
    return MISSED_HEARTBEATS * this.#heartbeatMs;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beat().catch((error: unknown) => this.#options.logger.debug({ err: error }, 'heartbeat failed'));
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  /** The instances alive now (this one included), oldest first. */
  async members(): Promise<InstanceInfo[]> {
    const { redis } = this.#options;
    const ids = await redis.zRangeByScore(this.#key('instances'), this.#options.now() - this.timeoutMs, '+inf');
    if (ids.length === 0) return [];
    const values = await redis.hmGet(this.#key('instances:info'), ids);
    return values
      .filter((value): value is string => value !== null)
      .map((value) => ({ address: null, ...(JSON.parse(value) as Omit<InstanceInfo, 'address'>) }))
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Which of these instances are alive now. */
  async alive(ids: Iterable<string>): Promise<Set<string>> {
    const list = [...new Set(ids)];
    if (list.length === 0) return new Set();
    const seen = await this.#options.redis.zmScore(this.#key('instances'), list);
    const since = this.#options.now() - this.timeoutMs;
    return new Set(list.filter((_, i) => (seen[i] ?? 0) >= since));
  }

  /** Leaves the cluster (clean shutdown): the others stop counting on this instance at once. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const { redis, id } = this.#options;
    if (!redis.isReady) return;
    await redis.multi().zRem(this.#key('instances'), id).hDel(this.#key('instances:info'), id).exec();
  }

  async #beat(): Promise<void> {
    const { redis, id, region, address, now } = this.#options;
    const at = now();
    const usage = process.cpuUsage(this.#cpu);
    const elapsedMs = performance.now() - this.#cpuAt;
    this.#cpu = process.cpuUsage();
    this.#cpuAt = performance.now();
    const info: InstanceInfo = {
      id,
      region,
      address,
      startedAt: this.#startedAt,
      seenAt: at,
      ...this.#options.load(),
      cpu: elapsedMs > 0 ? Math.round(((usage.user + usage.system) / 1000 / elapsedMs) * 100) / 100 : 0,
    };
    // Instances long gone leave the set and the figures hash (kept a while for the cluster view).
    const longGone = await redis.zRangeByScore(this.#key('instances'), '-inf', at - 100 * this.timeoutMs);
    const write = redis
      .multi()
      .zAdd(this.#key('instances'), { score: at, value: id })
      .hSet(this.#key('instances:info'), id, JSON.stringify(info));
    if (longGone.length > 0) {
      write.zRem(this.#key('instances'), longGone).hDel(this.#key('instances:info'), longGone);
    }
    await write.exec();
  }

  #key(name: string): string {
    return `${this.#options.prefix}cluster:${name}`;
  }
}
