import { Counter, Histogram, type Registry } from 'prom-client';
import type { RefusalReason } from './ExperienceBounds.js';

/** Counters and histograms of what clients reported and the server accepted (bounded labels only). */
export class ExperienceMetrics {
  readonly #connect: Histogram;
  readonly #reconnection: Histogram<'outcome'>;
  readonly #paths: Counter<'path'>;
  readonly #refused: Counter<'kind' | 'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#connect = new Histogram({
      name: 'meetopia_call_connect_seconds',
      help: 'Start or Next to the first remote video frame, per call, as clients reported it',
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120],
      registers,
    });
    this.#reconnection = new Histogram({
      name: 'meetopia_reconnection_seconds',
      help: 'Duration of each reconnection (socket or media) clients reported, by outcome',
      labelNames: ['outcome'],
      buckets: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600],
      registers,
    });
    this.#paths = new Counter({
      name: 'meetopia_calls_by_path_total',
      help: 'Calls by how their media reached the server (relay: through TURN)',
      labelNames: ['path'],
      registers,
    });
    this.#refused = new Counter({
      name: 'meetopia_experience_reports_refused_total',
      help: 'Client experience reports not counted, by kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    });
  }

  connect(firstFrameMs: number): void {
    this.#connect.observe(firstFrameMs / 1000);
  }

  reconnection(outcome: 'recovered' | 'gave-up', durationMs: number): void {
    this.#reconnection.observe({ outcome }, durationMs / 1000);
  }

  path(path: 'udp' | 'tcp' | 'relay'): void {
    this.#paths.inc({ path });
  }

  refused(kind: 'call' | 'reconnection', reason: RefusalReason): void {
    this.#refused.inc({ kind, reason });
  }
}
