import type { ExperienceReport } from '@meetopia/protocol';

/** Why a client's experience report was not counted (bounded: these are /metrics label values). */
export type RefusalReason = 'unknown-pair' | 'duplicate' | 'late' | 'implausible' | 'no-event' | 'too-many';
export type Verdict = { ok: true } | { ok: false; reason: RefusalReason; message: string };

/**
 * What the server saw that a client may report a reconnection for: a resume, an ICE restart
 * request, or a resume refused because the session had expired in standby (the client then
 * starts a new session on the same socket and may report that its reconnection gave up).
 */
export type ReconnectionEvent = 'resume' | 'ice-restart' | 'resume-refused';

type CallReport = Extract<ExperienceReport, { kind: 'call' }>;
type ReconnectionReport = Extract<ExperienceReport, { kind: 'reconnection' }>;

/** A reconnection the server saw: events close together (resume, then ICE restarts of both transports) are one. */
type Credit = { kind: ReconnectionEvent; firstAt: number; lastAt: number };

/** A conversation of a session, kept while the session may still report it (its current and last one). */
type RecentPair = {
  pairId: string;
  matchedAt: number;
  /** The earliest moment this session's Start or Next for this pair can have been pressed. */
  earliestClick: number;
  reported: boolean;
};

type SessionState = {
  openedAt: number;
  /** When this session was last matched (its next Start or Next was pressed after that). */
  lastMatchedAt: number | null;
  /** Its newest conversations, oldest first: only the current and the last one can be reported. */
  pairs: RecentPair[];
  credits: Credit[];
  /** When reconnection reports were accepted (the last hour). */
  acceptedAt: number[];
};

export type ExperienceBoundsOptions = {
  now: () => number;
  /** Events closer than this to the previous one join its reconnection. */
  coalesceMs?: number;
  /** How long after its last event a reconnection can still be reported. */
  creditTtlMs?: number;
  /** Reconnections waiting for a report, per session. */
  maxCredits?: number;
  /** Reconnection reports accepted per session per hour. */
  maxReconnectionsPerHour?: number;
  /** How long after a match its call can be reported. */
  pairRetentionMs?: number;
  /** Clock and network leeway on durations, ms. */
  slackMs?: number;
  /** Longest reconnection a session that replaced an expired one may report (the protocol's limit). */
  maxLostReconnectionMs?: number;
};

const HOUR_MS = 3_600_000;
/** A session can report its current and its last conversation. */
const REMEMBERED_PAIRS = 2;

/**
 * What a client may report about its own experience, so that no client can inflate the service
 * levels beyond its own calls: one `call` report per conversation the session really had (its
 * current or last one), no longer than the time since the session's previous match (or since it
 * opened); one `reconnection` report per reconnection the server saw for that session (a resume,
 * an ICE restart request, or a refused resume before it), no longer than the session has existed.
 * What is kept is per session and bounded (a few entries each), and goes when the session ends.
 * Pure: the clock is injected.
 */
export class ExperienceBounds {
  readonly #now: () => number;
  readonly #coalesceMs: number;
  readonly #creditTtlMs: number;
  readonly #maxCredits: number;
  readonly #maxPerHour: number;
  readonly #pairRetentionMs: number;
  readonly #slackMs: number;
  readonly #maxLostMs: number;
  readonly #sessions = new Map<string, SessionState>();

  constructor(options: ExperienceBoundsOptions) {
    this.#now = options.now;
    this.#coalesceMs = options.coalesceMs ?? 10_000;
    this.#creditTtlMs = options.creditTtlMs ?? 5 * 60_000;
    this.#maxCredits = options.maxCredits ?? 3;
    this.#maxPerHour = options.maxReconnectionsPerHour ?? 10;
    this.#pairRetentionMs = options.pairRetentionMs ?? 10 * 60_000;
    this.#slackMs = options.slackMs ?? 2000;
    this.#maxLostMs = options.maxLostReconnectionMs ?? 600_000;
  }

  /**
   * A session was opened (its own age bounds the durations it reports) at `openedAt`: earlier
   * than now for a session another instance began and this one took over.
   */
  opened(sessionId: string, openedAt = this.#now()): void {
    this.#state(sessionId, openedAt);
  }

  /** A session ended: nothing more is kept about it. */
  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  /**
   * A pair was formed. The Start or Next that led each member here was pressed after that
   * member's previous match (or after its session opened): that bounds its connect time.
   */
  matched(pairId: string, memberIds: readonly string[]): void {
    const now = this.#now();
    for (const sessionId of memberIds) {
      const state = this.#state(sessionId);
      state.pairs.push({
        pairId,
        matchedAt: now,
        earliestClick: state.lastMatchedAt ?? state.openedAt,
        reported: false,
      });
      if (state.pairs.length > REMEMBERED_PAIRS) state.pairs.shift();
      state.lastMatchedAt = now;
    }
  }

  /** The server saw this session reconnect (a resume) or repair its media (an ICE restart request). */
  event(sessionId: string, kind: ReconnectionEvent): void {
    const now = this.#now();
    const state = this.#state(sessionId);
    this.#pruneCredits(state, now);
    const last = state.credits.at(-1);
    if (last && now - last.lastAt <= this.#coalesceMs) {
      last.lastAt = now;
      return;
    }
    state.credits.push({ kind, firstAt: now, lastAt: now });
    if (state.credits.length > this.#maxCredits) state.credits.shift();
  }

  /**
   * Admits a call report (and remembers it) or says why not. `current` and `last` are the
   * session's current pair id and the pair id of its last conversation, as the server has them.
   */
  admitCall(sessionId: string, report: CallReport, pairs: { current: string | null; last: string | null }): Verdict {
    const state = this.#state(sessionId);
    if (report.pairId !== pairs.current && report.pairId !== pairs.last) {
      return refuse('unknown-pair', 'that call is not the current or last conversation of this session');
    }
    const now = this.#now();
    const pair = state.pairs.find((candidate) => candidate.pairId === report.pairId);
    if (pair?.reported) return refuse('duplicate', 'this call was already reported');
    if (!pair || now - pair.matchedAt > this.#pairRetentionMs) return refuse('late', 'this call is too old to report');
    const longest = now - pair.earliestClick + this.#slackMs;
    if (report.firstFrameMs > longest) {
      return refuse('implausible', `firstFrameMs is longer than this call can have taken (${longest} ms)`);
    }
    pair.reported = true;
    return { ok: true };
  }

  /** Admits a reconnection report against a reconnection the server saw (using it up), or says why not. */
  admitReconnection(sessionId: string, report: ReconnectionReport): Verdict {
    const now = this.#now();
    const state = this.#state(sessionId);
    this.#pruneCredits(state, now);
    if (state.credits.length === 0) {
      return refuse('no-event', 'the server saw no reconnection of this session to report');
    }
    state.acceptedAt = state.acceptedAt.filter((at) => at > now - HOUR_MS);
    if (state.acceptedAt.length >= this.#maxPerHour) {
      return refuse('too-many', 'too many reconnection reports from this session');
    }
    const credit = state.credits[0];
    if (credit?.kind === 'resume-refused') {
      // The old session expired: this reconnection did not keep the conversation.
      if (report.outcome !== 'gave-up') {
        return refuse('implausible', 'the session had expired: that reconnection cannot have recovered');
      }
      if (report.durationMs > this.#maxLostMs) return refuse('implausible', 'durationMs is too long');
    } else {
      const age = now - state.openedAt + this.#slackMs;
      if (report.durationMs > age) {
        return refuse('implausible', `durationMs is longer than this session has existed (${age} ms)`);
      }
    }
    state.credits.shift();
    state.acceptedAt.push(now);
    return { ok: true };
  }

  /** Sessions remembered and their conversations (for tests: both stay bounded). */
  get sizes(): { sessions: number; pairs: number } {
    let pairs = 0;
    for (const state of this.#sessions.values()) pairs += state.pairs.length;
    return { sessions: this.#sessions.size, pairs };
  }

  #state(sessionId: string, openedAt = this.#now()): SessionState {
    let state = this.#sessions.get(sessionId);
    if (!state) {
      state = { openedAt, lastMatchedAt: null, pairs: [], credits: [], acceptedAt: [] };
      this.#sessions.set(sessionId, state);
    }
    return state;
  }

  #pruneCredits(state: SessionState, now: number): void {
    state.credits = state.credits.filter((credit) => now - credit.lastAt <= this.#creditTtlMs);
  }
}

function refuse(reason: RefusalReason, message: string): Verdict {
  return { ok: false, reason, message };
}
