import type { ClusterStatus } from '@meetopia/protocol';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import type { InstanceLoad, Stores } from '../openStores.js';
import { ClusterMembership } from './ClusterMembership.js';
import { connectRedis, type MeetopiaRedis } from './connection.js';
import { RedisInstanceInbox } from './RedisInstanceInbox.js';
import { RedisMatchQueue } from './RedisMatchQueue.js';
import { RedisSafetyStore } from './RedisSafetyStore.js';
import { RedisSessionStore } from './RedisSessionStore.js';
import { RedisSettingsChannel } from './RedisSettingsChannel.js';

/**
 * The stores of an instance that shares its state through Redis. Redis is reached once before
 * anything else starts, so that a wrong URL or a Redis that is down stops start-up with a clear
 * message.
 */
export async function openRedisStores(
  redisConfig: NonNullable<Config['redis']>,
  logger: Logger,
  load: InstanceLoad,
  /** Where this instance's users send media (shown in the cluster view). */
  address: string,
): Promise<Stores> {
  const { url, prefix, instanceId, region } = redisConfig;
  const redisLogger = logger.child({ component: 'redis' });
  const redis: MeetopiaRedis = await connectRedis({ url, logger: redisLogger });
  const membership = new ClusterMembership({
    redis,
    prefix,
    id: instanceId,
    region,
    address,
    now: Date.now,
    load,
    logger: redisLogger,
  });
  await membership.start();
  const settingsChannel = await RedisSettingsChannel.open(redis, prefix, instanceId, redisLogger);
  const inbox = new RedisInstanceInbox({
    redis,
    prefix,
    self: instanceId,
    logger: redisLogger,
    alive: (instances) => membership.alive(instances),
  });
  await inbox.start();
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
    relay: inbox,
    sessions: new RedisSessionStore(redis, prefix),
    createQueue: (options) => {
      queue = new RedisMatchQueue({
        ...options,
        redis,
        prefix,
        cluster: membership,
        inbox,
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
      inbox.close();
      await settingsChannel.close();
      await membership.close().catch(() => {});
      if (redis.isOpen) await redis.close();
    },
  };
}
