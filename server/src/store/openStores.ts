import { join } from 'node:path';
import type { ClusterStatus } from '@meetopia/protocol';
import { fileStorage, type SettingStorage } from '../admin/SimulcastSettings.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { InProcessMatchQueue, type InProcessMatchQueueOptions } from '../matchmaking/InProcessMatchQueue.js';
import { SqliteSafetyStore } from '../safety/SqliteSafetyStore.js';
import type { InstanceRelay } from './InstanceRelay.js';
import type { MatchQueue } from './MatchQueue.js';
import type { SafetyStore } from './SafetyStore.js';
import type { SessionStore } from './SessionStore.js';
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
  /** Messages to and from the other instances (undefined: one process). */
  readonly relay: InstanceRelay | undefined;
  /** Sessions for any instance to take over (undefined: one process, sessions live in it). */
  readonly sessions: SessionStore | undefined;
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
      relay: undefined,
      sessions: undefined,
      createQueue: (options) => new InProcessMatchQueue(options),
      cluster: async () => ALONE,
      close: async () => {},
    };
  }
  // Loaded only when asked for: the Redis client is the largest module the server could load
  // (about 4 MB of heap), and a single process never needs it.
  const { openRedisStores } = await import('./redis/openRedisStores.js');
  return openRedisStores(config.redis, logger, load, config.media.announcedAddress);
}
