import type { ClusterStatus } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { clusterView } from './cluster.js';

const now = 1_800_000_000_000;
const instance = (id: string, overrides: Partial<ClusterStatus['instances'][number]> = {}) => ({
  id,
  region: 'eu',
  address: '198.51.100.7',
  startedAt: now - 3_725_000,
  seenAt: now - 1_400,
  sessions: 10,
  waiting: 2,
  mediaWorkers: 2,
  cpu: 0.234,
  ...overrides,
});

describe('clusterView', () => {
  it('is null for a single process without a shared store', () => {
    expect(clusterView({ store: 'local', self: null, connected: true, leader: null, instances: [] }, now)).toBeNull();
  });

  it('lists the instances by id, marks the leader and the one serving the page', () => {
    const view = clusterView(
      {
        store: 'redis',
        self: 'b',
        connected: true,
        leader: 'c',
        instances: [instance('c', { region: null, address: null }), instance('b'), instance('a')],
      },
      now,
    );
    expect(view?.summary).toBe('3 instances share Redis; c runs the matching.');
    expect(view?.alert).toBe(false);
    expect(view?.rows.map((row) => [row.id, row.leader, row.self])).toEqual([
      ['a', false, false],
      ['b', false, true],
      ['c', true, false],
    ]);
    expect(view?.rows[2]).toMatchObject({
      region: '—',
      address: '—',
      cpuPercent: 23,
      uptime: '1 h 2 min',
      seen: '2 s',
    });
    expect(view?.rows[0]?.address).toBe('198.51.100.7');
  });

  it('raises an alert when Redis does not answer or nobody leads', () => {
    const down = clusterView(
      { store: 'redis', self: 'a', connected: false, leader: null, instances: [instance('a')] },
      now,
    );
    expect(down).toMatchObject({ alert: true, summary: expect.stringContaining('Redis does not answer') });
    const leaderless = clusterView(
      { store: 'redis', self: 'a', connected: true, leader: null, instances: [instance('a')] },
      now,
    );
    expect(leaderless).toMatchObject({
      alert: true,
      summary: '1 instance shares Redis; no instance leads the matching right now.',
    });
  });
});
