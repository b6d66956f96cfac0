import {
  type ClientMessage,
  ErrorCode,
  type ExperienceReport,
  type ExperienceStatus,
  ProtocolError,
  type TextModeReason,
} from '@meetopia/protocol';
import type { Registry } from 'prom-client';
import type { Session } from '../session/Session.js';
import type { ExperienceSink } from '../signaling/RequestHandler.js';
import { ExperienceBounds, type RefusalReason } from './ExperienceBounds.js';
import { ExperienceMetrics } from './ExperienceMetrics.js';
import { ServiceLevels } from './ServiceLevels.js';

const refusalCodes: Record<RefusalReason, ErrorCode> = {
  'unknown-pair': ErrorCode.NotPaired,
  duplicate: ErrorCode.OutOfOrder,
  late: ErrorCode.OutOfOrder,
  'no-event': ErrorCode.OutOfOrder,
  implausible: ErrorCode.InvalidMessage,
  'too-many': ErrorCode.RateLimited,
};

/**
 * How the service feels to users: takes the clients' `experience` reports (admitted only within
 * `ExperienceBounds`) and what the server sees by itself (matches, resumes, ICE restarts, text
 * fallbacks, media paths), and keeps the rolling figures of /status and the /metrics series.
 */
export class ExperienceTracker implements ExperienceSink {
  readonly #bounds: ExperienceBounds;
  readonly #levels: ServiceLevels;
  readonly #metrics: ExperienceMetrics;
  /** The pair whose media path each session already reported (one path per call). */
  readonly #pathReported = new WeakMap<Session, string>();

  constructor(options: { now: () => number; registry: Registry }) {
    this.#bounds = new ExperienceBounds({ now: options.now });
    this.#levels = new ServiceLevels({ now: options.now });
    this.#metrics = new ExperienceMetrics(options.registry);
  }

  /** A client's report: counted, or refused with an error reply that says why (nothing counted). */
  report(session: Session, report: ExperienceReport): void {
    if (report.kind === 'call') {
      const verdict = this.#bounds.admitCall(session.id, report, {
        current: session.pair?.id ?? null,
        last: session.lastConversation?.pairId ?? null,
      });
      if (!verdict.ok) this.#refuse('call', verdict.reason, verdict.message);
      this.#levels.recordConnect(report.firstFrameMs);
      this.#metrics.connect(report.firstFrameMs);
      return;
    }
    const verdict = this.#bounds.admitReconnection(session.id, report);
    if (!verdict.ok) this.#refuse('reconnection', verdict.reason, verdict.message);
    this.#levels.recordReconnection(report.outcome, report.durationMs);
    this.#metrics.reconnection(report.outcome, report.durationMs);
  }

  /**
   * A request the server handled successfully: a new session, a resume and an ICE restart are
   * reconnection events; a quality report carries the call's media path.
   */
  observe(session: Session, message: ClientMessage, context: { afterRefusedResume?: boolean } = {}): void {
    switch (message.type) {
      case 'hello':
        if (message.resumeToken === undefined) {
          this.#bounds.opened(session.id);
          // A new session right after its old one could not be resumed: that reconnection gave up.
          if (context.afterRefusedResume) this.#bounds.event(session.id, 'resume-refused');
        } else {
          // A session taken over from another instance is new here but not new.
          this.#bounds.opened(session.id, session.openedAt);
          this.#bounds.event(session.id, 'resume');
          this.#levels.recordResume();
        }
        return;
      case 'restartIce':
        this.#bounds.event(session.id, 'ice-restart');
        return;
      case 'qualityReport': {
        const pairId = session.pair?.id;
        const path = message.report.path;
        if (!pairId || !path || this.#pathReported.get(session) === pairId) return;
        this.#pathReported.set(session, pairId);
        this.#levels.recordPath(path === 'relay');
        this.#metrics.path(path);
        return;
      }
      default:
        return;
    }
  }

  /**
   * A pair was formed, with these members on this instance. `counted`: this instance counts it
   * (a pair across two instances is counted by one of them).
   */
  matched(pairId: string, sessionIds: readonly string[], counted = true): void {
    this.#bounds.matched(pairId, sessionIds);
    if (counted) this.#levels.recordMatch();
  }

  /** A user switched from video to text (only media failures count against the service). */
  textFallback(reason: TextModeReason | undefined): void {
    this.#levels.recordFallback(reason);
  }

  /** A session ended for good. */
  ended(session: Session): void {
    this.#bounds.forget(session.id);
  }

  /** The `experience` block of /status. */
  status(): ExperienceStatus {
    return this.#levels.status();
  }

  #refuse(kind: 'call' | 'reconnection', reason: RefusalReason, message: string): never {
    this.#metrics.refused(kind, reason);
    throw new ProtocolError(refusalCodes[reason], `experience report not counted: ${message}`);
  }
}
