import type { ClusterStatus } from '@meetopia/protocol';
import { formatDuration } from '../format/duration.js';

const UNITS = { days: 'd', hours: 'h', minutes: 'min', seconds: 's' };

/** One instance as the admin's cluster table shows it. */
export type ClusterRow = {
  id: string;
  region: string;
  /** Where its users send media ("—" when it does not say). */
  address: string;
  /** Runs the matching rounds for everyone. */
  leader: boolean;
  /** The instance that served this admin page. */
  self: boolean;
  sessions: number;
  waiting: number;
  mediaWorkers: number;
  /** Its Node process's CPU over the last heartbeat, in % of one core. */
  cpuPercent: number;
  uptime: string;
  /** Time since its last heartbeat, e.g. "2 s". */
  seen: string;
};

export type ClusterView = {
  /** One sentence on the shared store and the leader. */
  summary: string;
  /** True when something needs the admin's attention: store unreachable or no leader. */
  alert: boolean;
  rows: ClusterRow[];
};

/** The cluster block of /status as the admin reads it; null for a single process without Redis. */
export function clusterView(cluster: ClusterStatus, now: number): ClusterView | null {
  if (cluster.store === 'local') return null;
  const rows = [...cluster.instances]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((instance) => ({
      id: instance.id,
      region: instance.region ?? '—',
      address: instance.address ?? '—',
      leader: instance.id === cluster.leader,
      self: instance.id === cluster.self,
      sessions: instance.sessions,
      waiting: instance.waiting,
      mediaWorkers: instance.mediaWorkers,
      cpuPercent: Math.round(instance.cpu * 100),
      uptime: formatDuration(now - instance.startedAt, UNITS),
      seen: formatDuration(now - instance.seenAt, UNITS),
    }));
  const count = `${rows.length} instance${rows.length === 1 ? '' : 's'}`;
  const share = `${count} ${rows.length === 1 ? 'shares' : 'share'} Redis`;
  if (!cluster.connected) {
    const self = cluster.self ?? 'this instance';
    return {
      summary: `Redis does not answer: new matches wait until it is back; ${self} goes on with the calls it has.`,
      alert: true,
      rows,
    };
  }
  if (cluster.leader === null) {
    return { summary: `${share}; no instance leads the matching right now.`, alert: true, rows };
  }
  return { summary: `${share}; ${cluster.leader} runs the matching.`, alert: false, rows };
}
