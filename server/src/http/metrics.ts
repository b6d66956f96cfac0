import type { Status } from '@meetopia/protocol';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LayerChange } from '../sfu/LayerPolicy.js';

/**
 * Prometheus metrics (prom-client): Node process figures, the `/status` document as gauges,
 * and counters of what happens in between scrapes (matches, waits, layer moves, resumes,
 * worker deaths). Gauges are refreshed from one status snapshot per scrape, so `/metrics`
 * and `/status` always agree.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #connections = this.#gauge('meetopia_connections', 'Sessions by presence', ['state']);
  readonly #paired = this.#gauge('meetopia_paired_users', 'Users with a partner');
  readonly #waiting = this.#gauge('meetopia_waiting_users', 'Users waiting for a partner');
  readonly #pairs = this.#gauge('meetopia_pairs', 'Pairs in a call');
  readonly #workerSessions = this.#gauge('meetopia_worker_sessions', 'Sessions per mediasoup worker', ['worker']);
  readonly #workerCpu = this.#gauge('meetopia_worker_cpu_seconds', 'CPU time used by each mediasoup worker', [
    'worker',
  ]);
  readonly #workerRss = this.#gauge('meetopia_worker_max_rss_bytes', 'Peak resident memory of each mediasoup worker', [
    'worker',
  ]);
  readonly #quality = this.#gauge('meetopia_network_quality_users', 'Users by network class', ['class']);
  readonly #latency = this.#gauge('meetopia_network_avg_latency_ms', 'Mean round trip of users with a measurement');
  readonly #layers = this.#gauge('meetopia_video_consumers', 'Video consumers by forwarded spatial layer', ['layer']);
  readonly #matches = new Counter({ name: 'meetopia_matches_total', help: 'Pairs formed', registers: [this.registry] });
  readonly #matchWait = new Histogram({
    name: 'meetopia_match_wait_seconds',
    help: 'Time a user waited in the queue before being paired',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly #matchScore = new Histogram({
    name: 'meetopia_match_score',
    help: 'Score of each pair formed (100 or more is an optimal match)',
    buckets: [0, 30, 60, 100, 150],
    registers: [this.registry],
  });
  readonly #sharedInterestMatches = new Counter({
    name: 'meetopia_matches_shared_interest_total',
    help: 'Pairs formed whose members shared at least one interest',
    registers: [this.registry],
  });
  readonly #sameCountryMatches = new Counter({
    name: 'meetopia_matches_same_country_total',
    help: 'Pairs formed whose members were from the same country',
    registers: [this.registry],
  });
  readonly #matchRound = new Histogram({
    name: 'meetopia_match_round_seconds',
    help: 'CPU time of one matching round',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly #waitingByCountry = this.#gauge(
    'meetopia_waiting_users_by_country',
    'Users waiting, by country (top 20, other, unknown)',
    ['country'],
  );
  readonly #layerChanges = new Counter({
    name: 'meetopia_layer_changes_total',
    help: 'Moves of a receiver layer ceiling, by cause',
    labelNames: ['change'],
    registers: [this.registry],
  });
  readonly #resumes = new Counter({
    name: 'meetopia_session_resumes_total',
    help: 'Sessions resumed on a new socket',
    registers: [this.registry],
  });
  readonly #textFallbacks = new Counter({
    name: 'meetopia_text_fallbacks_total',
    help: 'Users who switched from video to text, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  // Rolling service levels from /status (`experience`), per window ("5m", "1h"); absent with no data.
  readonly #serviceConnectAvg = this.#gauge(
    'meetopia_service_connect_avg_seconds',
    'Average Start/Next to first remote frame over a rolling window',
    ['window'],
  );
  readonly #serviceConnectP50 = this.#gauge(
    'meetopia_service_connect_p50_seconds',
    'Median Start/Next to first remote frame over a rolling window',
    ['window'],
  );
  readonly #serviceReconnection = this.#gauge(
    'meetopia_service_reconnection_success_ratio',
    'Share of reported reconnections recovered within 30 s over a rolling window',
    ['window'],
  );
  readonly #serviceFallback = this.#gauge(
    'meetopia_service_fallback_rate',
    'Switches to text because video failed, per call, over a rolling window',
    ['window'],
  );
  readonly #serviceRelayed = this.#gauge(
    'meetopia_service_relayed_ratio',
    'Share of calls relayed through TURN over a rolling window',
    ['window'],
  );
  readonly #workerDeaths = new Counter({
    name: 'meetopia_worker_deaths_total',
    help: 'mediasoup worker processes that died',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  recordMatch(
    waitedMs: readonly number[],
    match: { score: number; sharedInterest: boolean; sameCountry: boolean },
  ): void {
    this.#matches.inc();
    for (const ms of waitedMs) this.#matchWait.observe(ms / 1000);
    this.#matchScore.observe(match.score);
    if (match.sharedInterest) this.#sharedInterestMatches.inc();
    if (match.sameCountry) this.#sameCountryMatches.inc();
  }

  /** Time one matching round took (the matcher's CPU per round). */
  recordMatchRound(ms: number): void {
    this.#matchRound.observe(ms / 1000);
  }

  recordLayerChange(change: LayerChange): void {
    this.#layerChanges.inc({ change });
  }

  recordResume(): void {
    this.#resumes.inc();
  }

  recordTextFallback(reason: string | undefined): void {
    this.#textFallbacks.inc({ reason: reason ?? 'unknown' });
  }

  recordWorkerDeath(): void {
    this.#workerDeaths.inc();
  }

  /** The exposition text for a scrape, with the gauges set from this status snapshot. */
  async render(status: Status): Promise<string> {
    for (const [state, value] of Object.entries(status.connections)) {
      if (state !== 'paired') this.#connections.set({ state }, value);
    }
    this.#paired.set(status.connections.paired);
    this.#waiting.set(status.waiting);
    this.#waitingByCountry.reset();
    for (const { country, waiting } of status.matching.waitingByCountry)
      this.#waitingByCountry.set({ country }, waiting);
    this.#pairs.set(status.pairs);
    // Workers come and go (a dead one is replaced): only the live ones are reported.
    for (const gauge of [this.#workerSessions, this.#workerCpu, this.#workerRss]) gauge.reset();
    for (const worker of status.workers) {
      const labels = { worker: String(worker.index) };
      this.#workerSessions.set(labels, worker.sessions);
      if (worker.cpuMs !== null) this.#workerCpu.set(labels, worker.cpuMs / 1000);
      if (worker.maxRssKiB !== null) this.#workerRss.set(labels, worker.maxRssKiB * 1024);
    }
    for (const [quality, value] of Object.entries(status.networkHealth.qualityDistribution)) {
      this.#quality.set({ class: quality }, value);
    }
    if (status.networkHealth.avgLatency === null) this.#latency.reset();
    else this.#latency.set(status.networkHealth.avgLatency);
    status.consumerLayers.spatial.forEach((value, layer) => {
      this.#layers.set({ layer: String(layer) }, value);
    });
    this.#layers.set({ layer: 'none' }, status.consumerLayers.none);
    this.#setServiceLevels(status);
    return this.registry.metrics();
  }

  #setServiceLevels(status: Status): void {
    const figures: Array<[Gauge, (window: Status['experience']['last5m']) => number | null]> = [
      [this.#serviceConnectAvg, (w) => (w.connect.avgMs === null ? null : w.connect.avgMs / 1000)],
      [this.#serviceConnectP50, (w) => (w.connect.p50Ms === null ? null : w.connect.p50Ms / 1000)],
      [this.#serviceReconnection, (w) => w.reconnection.successShare],
      [this.#serviceFallback, (w) => w.fallback.rate],
      [this.#serviceRelayed, (w) => w.turn.share],
    ];
    for (const [gauge, read] of figures) {
      gauge.reset();
      for (const [window, figures] of [
        ['5m', status.experience.last5m],
        ['1h', status.experience.last1h],
      ] as const) {
        const value = read(figures);
        if (value !== null) gauge.set({ window }, value);
      }
    }
  }

  #gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
