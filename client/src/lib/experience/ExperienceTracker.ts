import type { ExperienceReport } from '@meetopia/protocol';

/** Longest call set-up the protocol accepts, ms. */
const MAX_FIRST_FRAME_MS = 120_000;
/** Longest reconnection the protocol accepts, ms. */
const MAX_RECONNECTION_MS = 600_000;

type Reconnection = Extract<ExperienceReport, { kind: 'reconnection' }>;
type Call = Extract<ExperienceReport, { kind: 'call' }>;

/**
 * What the service felt like to this user, as reports for the server's service levels: how long
 * each conversation took from the user's action to the partner's first frame, and how each
 * reconnection ended. Pure: the caller passes the (monotonic) time and sends what comes back.
 */
export class ExperienceTracker {
  /** When the user last pressed Start or Next, until a match uses it. */
  #clickAt: number | null = null;
  /** The conversation whose first frame is awaited, and since when. */
  #call: { pairId: string; since: number } | null = null;
  /** The last pair a call report was made for (one per conversation). */
  #reportedPair: string | null = null;
  #socketLostAt: number | null = null;
  #mediaLostAt: number | null = null;

  /** The user pressed Start or Next: the next match is timed from now. */
  clicked(now: number): void {
    this.#clickAt = now;
  }

  /** The user was put back in the queue by someone else (partner left or skipped): time the next match from itself. */
  requeued(): void {
    this.#clickAt = null;
  }

  /** The conversation ended or the user stopped: its first frame no longer counts. */
  ended(): void {
    this.#call = null;
  }

  matched(pairId: string, now: number): void {
    this.#call = { pairId, since: this.#clickAt ?? now };
    this.#clickAt = null;
  }

  /** The partner's first decoded video frame of pair `pairId`: a call report, once per conversation. */
  firstFrame(pairId: string, now: number): Call | null {
    const call = this.#call;
    if (!call || call.pairId !== pairId || this.#reportedPair === pairId) return null;
    this.#call = null;
    this.#reportedPair = pairId;
    const firstFrameMs = Math.round(now - call.since);
    if (firstFrameMs < 0 || firstFrameMs > MAX_FIRST_FRAME_MS) return null;
    return { kind: 'call', pairId, firstFrameMs };
  }

  /** The signaling socket was lost (it had been open). */
  socketLost(now: number): void {
    this.#socketLostAt ??= now;
  }

  /**
   * The socket is back with a session: resumed means the same conversation and media went on;
   * a new session after losing a conversation means the reconnection did not save it.
   */
  socketBack(resumed: boolean, hadConversation: boolean, now: number): Reconnection | null {
    const since = this.#socketLostAt;
    this.#socketLostAt = null;
    if (since === null) return null;
    if (!resumed && !hadConversation) return null;
    return reconnection(resumed ? 'recovered' : 'gave-up', now - since);
  }

  /** The client stopped retrying the socket (retries used up). */
  socketGaveUp(now: number): Reconnection | null {
    const since = this.#socketLostAt;
    this.#socketLostAt = null;
    return since === null ? null : reconnection('gave-up', now - since);
  }

  /** Media transports that had worked lost connectivity (true) or got it back (false). */
  mediaReconnecting(reconnecting: boolean, now: number): Reconnection | null {
    if (reconnecting) {
      this.#mediaLostAt ??= now;
      return null;
    }
    const since = this.#mediaLostAt;
    this.#mediaLostAt = null;
    return since === null ? null : reconnection('recovered', now - since);
  }

  /** Media stayed broken too long: the call fell back to text. */
  mediaGaveUp(now: number): Reconnection | null {
    const since = this.#mediaLostAt;
    this.#mediaLostAt = null;
    return since === null ? null : reconnection('gave-up', now - since);
  }
}

function reconnection(outcome: Reconnection['outcome'], ms: number): Reconnection {
  return { kind: 'reconnection', outcome, durationMs: Math.min(MAX_RECONNECTION_MS, Math.max(0, Math.round(ms))) };
}
