import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/serverProcess.js';
import { repoRoot } from './support.js';

const METRICS_TOKEN = 'deploy-monitoring-metrics-token';
const monitoring = join(repoRoot, 'deploy/monitoring');

type Panel = { title: string; type: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> };

const dashboard = JSON.parse(readFileSync(join(monitoring, 'grafana/dashboards/meetopia.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
};
const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');

/** Metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(meetopia_[a-z_]+)/g)].map(([, name]) => name ?? '');
}

describe('monitoring profile', () => {
  it('promtool accepts the shipped Prometheus configuration', () => {
    const result = spawnSync('promtool', ['check', 'config', join(monitoring, 'prometheus.yml')], { encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('the dashboard shows every figure a self-hoster watches, from the provisioned data source', () => {
    expect(dashboard.uid).toBe('meetopia');
    const datasource = readFileSync(join(monitoring, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    const uid = /uid:\s*(\S+)/.exec(datasource)?.[1];
    expect(uid).toBeTruthy();
    for (const panel of graphs) {
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    const queried = new Set(
      graphs.flatMap((panel) => panel.targets?.flatMap((target) => metricNames(target.expr)) ?? []),
    );
    for (const wanted of [
      'meetopia_connections', // users active
      'meetopia_waiting_users',
      'meetopia_paired_users',
      'meetopia_matches_total',
      'meetopia_match_wait_seconds_bucket',
      'meetopia_session_resumes_total',
      'meetopia_text_fallbacks_total',
      'meetopia_layer_changes_total',
      'meetopia_network_quality_users',
      'meetopia_worker_cpu_seconds',
      'meetopia_worker_max_rss_bytes',
    ]) {
      expect(queried, wanted).toContain(wanted);
    }
  });

  describe('against a live server', () => {
    let server: ServerProcess;
    let text: string;

    beforeAll(async () => {
      server = await startServerProcess('deploy-monitoring', { METRICS_TOKEN });
      const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(response.status).toBe(200);
      text = await response.text();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('every metric a panel queries exists in /metrics', () => {
      // Labelled counters have no sample before their first increment: the family's TYPE line counts.
      const typed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name));
      for (const panel of graphs) {
        for (const target of panel.targets ?? []) {
          for (const name of metricNames(target.expr)) {
            // A histogram's _bucket, _sum and _count series belong to its family.
            const family = typed.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
            expect(typed, `${panel.title}: ${target.expr}`).toContain(family);
          }
        }
      }
    });

    it('/metrics refuses a scrape without the token Prometheus is given', async () => {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(401);
    });
  });
});
