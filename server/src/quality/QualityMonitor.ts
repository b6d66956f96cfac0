import type { NetworkHealth, QualityReport } from '@meetopia/protocol';
import type { Session } from '../session/Session.js';
import { classifyQuality } from './classify.js';

/** Keeps each user's latest network report and class, and tells both sides of a pair. */
export class QualityMonitor {
  readonly #onChanged: ((session: Session) => void) | undefined;

  /** `onChanged`: a user's class changed (a partner on another instance is told through it). */
  constructor(options: { onChanged?: (session: Session) => void } = {}) {
    this.#onChanged = options.onChanged;
  }

  /** Records a client report and sends the new classes to the user and their partner. */
  report(session: Session, report: QualityReport, now: number): void {
    session.quality = { report, reportedAt: now, class: classifyQuality(report, session.socket?.rttMs ?? null) };
    session.logger.debug({ report, quality: session.quality.class }, 'quality report');
    this.#publish(session);
  }

  /** Aggregate over the given sessions, for /status and /metrics. */
  health(sessions: Iterable<Session>): NetworkHealth {
    const distribution = { good: 0, fair: 0, poor: 0 };
    let rttSum = 0;
    let rttCount = 0;
    for (const session of sessions) {
      const rtt = session.quality.report?.rttMs ?? session.socket?.rttMs ?? null;
      if (rtt !== null) {
        rttSum += rtt;
        rttCount += 1;
      }
      const quality = classifyQuality(session.quality.report, session.socket?.rttMs ?? null);
      if (quality !== 'unknown') distribution[quality] += 1;
    }
    return { avgLatency: rttCount === 0 ? null : Math.round(rttSum / rttCount), qualityDistribution: distribution };
  }

  #publish(session: Session): void {
    const partner = session.partner;
    const peerClass = partner?.quality.class ?? 'unknown';
    session.notify({ type: 'quality', self: session.quality.class, peer: peerClass });
    partner?.notify({ type: 'quality', self: peerClass, peer: session.quality.class });
    this.#onChanged?.(session);
  }
}
