import type { ClusterStatus, ExperienceStatus, Status, WorkerStatus } from '@meetopia/protocol';
import type { Lobby } from '../matchmaking/Lobby.js';
import type { MatchStats } from '../matchmaking/MatchStats.js';
import type { QualityMonitor } from '../quality/QualityMonitor.js';
import type { Session } from '../session/Session.js';
import type { SessionService } from '../session/SessionService.js';
import type { WorkerPool } from '../sfu/WorkerPool.js';

export type StatusSources = {
  sessions: SessionService;
  lobby: Lobby;
  pool: WorkerPool;
  quality: QualityMonitor;
  matchStats: MatchStats;
  /** Rolling service levels (the `experience` block). */
  experience: { status(): ExperienceStatus };
  /** The deployment: this process alone, or the instances sharing Redis. */
  cluster: () => Promise<ClusterStatus>;
  startedAt: number;
};

/** The `/status` document: real counts from the live objects, never cached. */
export async function buildStatus(sources: StatusSources): Promise<Status> {
  const counts = sources.sessions.counts();
  const cluster = sources.cluster();
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
    consumerLayers: countConsumerLayers(sources.sessions.sessions),
    matching: sources.matchStats.status(sources.lobby.queue.countByCountry()),
    experience: sources.experience.status(),
    cluster: await cluster,
  };
}

/** How many video consumers forward each spatial layer right now. */
export function countConsumerLayers(sessions: Iterable<Session>): Status['consumerLayers'] {
  const spatial = [0, 0, 0];
  let none = 0;
  for (const session of sessions) {
    for (const consumer of session.media.consumers) {
      if (consumer.kind !== 'video') continue;
      const layer = consumer.paused ? undefined : consumer.currentLayers?.spatialLayer;
      if (layer === undefined) none += 1;
      else spatial[layer] = (spatial[layer] ?? 0) + 1;
    }
  }
  return { spatial, none };
}
