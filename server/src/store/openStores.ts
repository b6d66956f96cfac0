import { join } from 'node:path';
import type { ClusterStatus } from '@meetopia/protocol';
import { fileStorage, type SettingStorage } from '../admin/SimulcastSettings.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { InProcessMatchQueue, type InProcessMatchQueueOptions } from '../matchmaking/InProcessMatchQueue.js';
import { SqliteSafetyStore } from '../safety/SqliteSafetyStore.js';
import type { MatchQueue } from './MatchQueue.js';
import { ClusterMembership } from './redis/ClusterMembership.js';
import { connectRedis, type MeetopiaRedis } from './redis/connection.js';
import { RedisMatchQueue } from './redis/RedisMatchQueue.js';
import { RedisSafetyStore } from './redis/RedisSafetyStore.js';
import { RedisSettingsChannel } from './redis/RedisSettingsChannel.js';
import type { SafetyStore } from './SafetyStore.js';
import { localSettingsChannel, type SettingsChannel } from './SettingsChannel.js';

/** The cluster view of a process alone. */
const ALONE: ClusterStatus = { store: 'local', self: null, connected: true, leader: null, instances: [] };

/** Where the state that outlives a connection lives: this process and DATA_DIR, or Redis. */
export type Stores = {
  readonly safety: SafetyStore;
  /** Where this instance's users are, for matching (undefined: one process). */
  readonly place: { instance: string; region?: string } | undefined;
  /** Where the admin's simulcast table is kept. */
  readonly simulcast: SettingStorage;
  /** How instances learn of each other's live setting changes. */
  readonly settingsChannel: SettingsChannel;
  /** The waiting queue, fed to the lobby. */
  createQueue(options: InProcessMatchQueueOptions): MatchQueue;
  /** The `cluster` block of /status: the instances sharing the store, or this process alone. */
  cluster(): Promise<ClusterStatus>;
  /** Closes what the stores opened (after their users are done with them). */
  close(): Promise<void>;
};

/** The load an instance reports to the others. */
export type InstanceLoad = () => { sessions: number; waiting: number; mediaWorkers: number };

/**
 * Opens the stores the configuration asks for. Without REDIS_URL: SQLite in DATA_DIR and the queue
 * in this process. With it: Redis, reached once before anything else starts so that a wrong URL
 * or a Redis that is down stops start-up with a clear message.
 */
export async function openStores(config: Config, logger: Logger, load: InstanceLoad): Promise<Stores> {
  if (config.redis === null) {
    return {
      safety: SqliteSafetyStore.open(join(config.dataDir, 'safety.sqlite')),
      simulcast: fileStorage(join(config.dataDir, 'simulcast.json')),
      settingsChannel: localSettingsChannel,
      place: undefined,
      createQueue: (options) => new InProcessMatchQueue(options),
      cluster: async () => ALONE,
      close: async () => {},
    };
  }
  const { url, prefix, instanceId, region } = config.redis;
  const redisLogger = logger.child({ component: 'redis' });
  const redis: MeetopiaRedis = await connectRedis({ url, logger: redisLogger });
  const membership = new ClusterMembership({
    redis,
    prefix,
    id: instanceId,
    region,
    now: Date.now,
    load,
    logger: redisLogger,
  });
  await membership.start();
  const settingsChannel = await RedisSettingsChannel.open(redis, prefix, instanceId, redisLogger);
  const simulcastKey = `${prefix}settings:simulcast`;
  let queue: RedisMatchQueue | undefined;
  return {
    safety: new RedisSafetyStore(redis, prefix),
    simulcast: {
      where: `Redis key ${simulcastKey}`,
      read: () => redis.get(simulcastKey),
      write: async (text) => {
        await redis.set(simulcastKey, text);
      },
    },
    settingsChannel,
    place: { instance: instanceId, ...(region === null ? {} : { region }) },
    createQueue: (options) => {
      queue = new RedisMatchQueue({
        ...options,
        redis,
        prefix,
        cluster: membership,
        logger: logger.child({ component: 'queue' }),
      });
      return queue;
    },
    cluster: async () => {
      const view: ClusterStatus = {
        store: 'redis',
        self: instanceId,
        connected: redis.isReady,
        leader: null,
        instances: [],
      };
      if (!redis.isReady) return view;
      try {
        view.instances = await membership.members();
        view.leader = await redis.get(`${prefix}queue:leader`);
      } catch {
        view.connected = false;
      }
      return view;
    },
    close: async () => {
      queue?.close();
      await settingsChannel.close();
      await membership.close().catch(() => {});
      if (redis.isOpen) await redis.close();
    },
  };
}
