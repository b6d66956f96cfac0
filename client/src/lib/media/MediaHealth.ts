/** What the health policy sees of one transport. */
export type TransportView = {
  direction: 'send' | 'recv';
  /** RTCPeerConnection connection state. */
  state: RTCPeerConnectionState;
  /** Only a transport with producers (send) or consumers (recv) matters. */
  carrying: boolean;
  /** It has been connected before: losing it is a reconnection, not a slow start. */
  everConnected: boolean;
  /**
   * Connected on paper, but nothing has arrived for a while. While we publish video the SFU sends
   * congestion feedback every ~100 ms, so silence shows a dead path seconds before ICE notices.
   */
  stalled?: boolean;
};

export type HealthPolicy = {
  /** Wait this long after connectivity is lost before the first ICE restart (it often comes back alone). */
  graceMs: number;
  /** While still broken, restart ICE again at this period. */
  restartEveryMs: number;
  /** Broken this long: media counts as failing and the app falls back to text (the promise is 10 s). */
  failAfterMs: number;
};

export const defaultHealthPolicy: HealthPolicy = { graceMs: 2000, restartEveryMs: 3000, failAfterMs: 5000 };

export type HealthDecision = {
  /** Transports to ICE-restart now. */
  restart: Array<'send' | 'recv'>;
  /** A transport that worked has lost connectivity. */
  reconnecting: boolean;
  /** Media has been broken for too long: use text until it heals. */
  failing: boolean;
};

/**
 * The media transports' health policy, pure: feed it the transports' states and the time, get
 * back which ICE restarts to run and whether media is reconnecting or failing.
 */
export class MediaHealth {
  readonly #policy: HealthPolicy;
  /** When each transport stopped being usable. */
  readonly #brokenSince = new Map<'send' | 'recv', number>();
  readonly #lastRestart = new Map<'send' | 'recv', number>();

  constructor(policy: HealthPolicy = defaultHealthPolicy) {
    this.#policy = policy;
  }

  /** A transport was replaced or closed: forget its history. */
  forget(direction: 'send' | 'recv'): void {
    this.#brokenSince.delete(direction);
    this.#lastRestart.delete(direction);
  }

  /** Records a restart made for another reason (network change), so the periodic one waits. */
  restarted(direction: 'send' | 'recv', now: number): void {
    this.#lastRestart.set(direction, now);
  }

  evaluate(transports: readonly TransportView[], now: number): HealthDecision {
    const decision: HealthDecision = { restart: [], reconnecting: false, failing: false };
    for (const transport of transports) {
      const { direction } = transport;
      if (!transport.carrying || (transport.state === 'connected' && !transport.stalled)) {
        this.#brokenSince.delete(direction);
        continue;
      }
      const since = this.#brokenSince.get(direction) ?? now;
      this.#brokenSince.set(direction, since);
      const down = now - since;
      if (transport.everConnected) decision.reconnecting = true;
      if (down >= this.#policy.failAfterMs) decision.failing = true;
      const last = this.#lastRestart.get(direction);
      const due =
        transport.state === 'failed'
          ? last === undefined || now - last >= this.#policy.graceMs
          : down >= this.#policy.graceMs && (last === undefined || now - last >= this.#policy.restartEveryMs);
      // A transport that never connected is still negotiating: restarting it would only interrupt that.
      if (due && (transport.everConnected || transport.state === 'failed' || down >= this.#policy.failAfterMs)) {
        decision.restart.push(direction);
        this.#lastRestart.set(direction, now);
      }
    }
    return decision;
  }
}
