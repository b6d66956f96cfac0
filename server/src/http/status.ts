import type { Lobby } from '../matchmaking/Lobby.js';
import type { NetworkHealth, QualityMonitor } from '../quality/QualityMonitor.js';
import type { SessionService } from '../session/SessionService.js';
import type { WorkerPool } from '../sfu/WorkerPool.js';

export type StatusSources = {
  sessions: SessionService;
  lobby: Lobby;
  pool: WorkerPool;
  quality: QualityMonitor;
  startedAt: number;
};

export type WorkerStatus = {
  index: number;
  pid: number;
  /** Sessions whose transports live on this worker. */
  sessions: number;
  /** CPU time used by the worker process, ms (user + system). */
  cpuMs: number | null;
  /** Peak resident memory of the worker process, KiB. */
  maxRssKiB: number | null;
};

export type Status = {
  status: 'ok' | 'shutting-down';
  uptimeSeconds: number;
  connections: { active: number; standby: number; reconnecting: number; paired: number };
  waiting: number;
  pairs: number;
  workers: WorkerStatus[];
  networkHealth: NetworkHealth;
};

/** The `/status` document: real counts from the live objects, never cached. */
export async function buildStatus(sources: StatusSources): Promise<Status> {
  const counts = sources.sessions.counts();
  const workers = await Promise.all(
    sources.pool.workers.map(async (worker): Promise<WorkerStatus> => {
      const usage = await worker.worker.getResourceUsage().catch(() => null);
      return {
        index: worker.index,
        pid: worker.pid,
        sessions: worker.sessions,
        cpuMs: usage ? usage.ru_utime + usage.ru_stime : null,
        maxRssKiB: usage ? usage.ru_maxrss : null,
      };
    }),
  );
  return {
    status: sources.sessions.closing ? 'shutting-down' : 'ok',
    uptimeSeconds: Math.round((Date.now() - sources.startedAt) / 1000),
    connections: {
      active: counts.active,
      standby: counts.standby,
      reconnecting: counts.reconnecting,
      paired: counts.paired,
    },
    waiting: counts.waiting,
    pairs: sources.lobby.pairs.size,
    workers,
    networkHealth: sources.quality.health(sources.sessions.sessions),
  };
}
